"""The ground floor: state arrays, named random streams, parameters, validation, the calendar and small helpers
(quotas, capacity-limited allocation, atomic output folders). Nothing here imports from the model above it."""

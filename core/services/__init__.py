"""Use cases: one async function per thing a user or operator does; the unit of work commits."""

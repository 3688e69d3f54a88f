"""The `slices` hub service: inventory for every user, allocations for admins."""

//! The trials table.

//! Test kit (filled below).

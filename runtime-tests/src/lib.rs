//! Harness for nook-runtime behaviour tests (filled by the harness work).

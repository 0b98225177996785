//! One typed configuration for the switch: a default for every key, loading from TOML, environment
//! overrides (`SWITCH_<SECTION>_<KEY>`) and validation that names every bad key at once.
//!
//! Never depends on: any other crate of this workspace.

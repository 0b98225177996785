//! The per-call actor tree (ractor): a `CallActor` supervising the dialog, media, speech and agent
//! actors of one call, and the speech providers they use.
//!
//! Never depends on: `admin-api`, storage, `switch`.

//! Random identifiers: Via branches (RFC 3261 §8.1.1.7 magic cookie) and From/To tags.

use rand::Rng;
use rand::distr::Alphanumeric;

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A new Via branch starting with the RFC 3261 magic cookie `z9hG4bK`.
pub fn new_branch() -> String {
    format!("z9hG4bK{}", random_token(16))
}

/// A new dialog tag (From or To), 12 random alphanumerics.
pub fn new_tag() -> String {
    random_token(12)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_carry_the_magic_cookie_and_differ() {
        let a = new_branch();
        let b = new_branch();
        assert!(a.starts_with("z9hG4bK"));
        assert_ne!(a, b);
        assert_eq!(new_tag().len(), 12);
    }
}

//! Keys the agent presses on the far end's keypad (`send_dtmf`, to navigate a phone menu): which
//! strings are valid (`0-9`, `*`, `#`, `A-D`, 1 to [`MAX_KEYS`] of them), and the record of keys
//! sent that the conversation history keeps.

/// Most keys one `send_dtmf` sends.
pub const MAX_KEYS: usize = 32;

/// The keys a `send_dtmf` may press, in the order of a keypad (RFC 4733 events 0–15).
pub const KEYPAD: &str = "0123456789*#ABCD";

/// Keys that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysError {
    /// No key at all.
    #[error("no keys: give 1 to {MAX_KEYS} of 0-9, *, #, A-D")]
    Empty,
    /// More than [`MAX_KEYS`].
    #[error("{0} keys: at most {MAX_KEYS} at once")]
    TooMany(usize),
    /// A character that is not a key.
    #[error("{0:?} is not a key: only 0-9, *, # and A-D can be pressed")]
    NotAKey(char),
}

/// Checks that `keys` can be pressed as given.
pub fn check_keys(keys: &str) -> Result<(), KeysError> {
    if let Some(bad) = keys.chars().find(|c| !KEYPAD.contains(*c)) {
        return Err(KeysError::NotAKey(bad));
    }
    match keys.len() {
        0 => Err(KeysError::Empty),
        n if n > MAX_KEYS => Err(KeysError::TooMany(n)),
        _ => Ok(()),
    }
}

/// Keys the agent sent at the end of one of its turns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysSent {
    /// The keys, in order.
    pub digits: String,
    /// The language model's id of the `send_dtmf` call that sent them (its result goes back
    /// with it); `None` for a scripted rule.
    pub tool_call_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_keypad_keys_up_to_the_limit() {
        assert_eq!(check_keys("1"), Ok(()));
        assert_eq!(check_keys("0123456789*#ABCD"), Ok(()));
        assert_eq!(check_keys(&"9".repeat(MAX_KEYS)), Ok(()));
        assert_eq!(check_keys(""), Err(KeysError::Empty));
        assert_eq!(
            check_keys(&"9".repeat(MAX_KEYS + 1)),
            Err(KeysError::TooMany(MAX_KEYS + 1))
        );
        assert_eq!(check_keys("1 2"), Err(KeysError::NotAKey(' ')));
        assert_eq!(check_keys("a"), Err(KeysError::NotAKey('a')));
        assert_eq!(check_keys("E"), Err(KeysError::NotAKey('E')));
        assert_eq!(check_keys("١"), Err(KeysError::NotAKey('١')));
    }
}

//! The meter's view of the wallet: the switch implements it over storage.

use async_trait::async_trait;

use super::core::{Settlement, TickCharge};

/// The answer to one charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChargeResult {
    /// The wallet paid (or had paid this tick before).
    Paid,
    /// The balance does not cover it.
    Insufficient,
}

/// The wallet could not be reached or refused for another reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("billing unavailable: {0}")]
pub struct ChargeError(pub String);

/// Charges and settles calls. Charges carry their tick number, so a retry never charges twice.
#[async_trait]
pub trait Charger: Send + Sync + 'static {
    /// Charges one tick of call `call_id` to tenant `tenant_id`.
    async fn charge(
        &self,
        call_id: &str,
        tenant_id: &str,
        charge: &TickCharge,
    ) -> Result<ChargeResult, ChargeError>;

    /// Writes the end of the call's billing (refund of unused reservation, billed seconds).
    async fn settle(
        &self,
        call_id: &str,
        tenant_id: &str,
        settlement: &Settlement,
    ) -> Result<(), ChargeError>;
}

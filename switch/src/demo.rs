//! The demo tenant seeded on an empty database, so `switch run` answers number 1000 at once.

use actors::spec::AgentSpec;
use config::Config;
use store::{DemoSeed, Store, StoreError};
use tracing::info;

/// Seeds the demo tenant, agent and number when `demo.seed` is on and the database is empty.
pub async fn seed(store: &Store, config: &Config) -> Result<(), StoreError> {
    if !config.demo.seed {
        return Ok(());
    }
    let spec = serde_json::to_string(&AgentSpec::demo()).expect("the demo spec serialises");
    let seed = DemoSeed {
        tenant_name: "Demo clinic".into(),
        number: config.demo.number.clone(),
        credit_micros: config.demo.credit_micros,
        agent_name: "Demo receptionist".into(),
        agent_spec_json: spec,
        rate_per_minute_micros: 20_000,
        billing_increment_secs: 1,
    };
    if let Some(seeded) = store.seed_demo(&seed).await? {
        info!(
            tenant = %seeded.tenant.id,
            number = %config.demo.number,
            credit_micros = config.demo.credit_micros,
            "seeded the demo tenant on an empty database"
        );
    }
    let port = config.sip.listen.port();
    info!(
        "call the demo agent: sipp -sn uac 127.0.0.1:{port} -s {} -m 1",
        config.demo.number
    );
    Ok(())
}

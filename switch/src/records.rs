//! Call records: turns the call actors' lifecycle reports into rows, written off the call path.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use actors::outcome::{CallEvents, CallOutcome, Speaker, TranscriptEntry, Usage};
use admin_api::webhooks::EventKind;
use config::PricingConfig;
use metrics::{counter, histogram};
use store::{CallEnd, CallState, CostKind, NewCostLine, NewTurn, Store};
use tokio::sync::mpsc;

use crate::events::TenantEvents;
use tracing::error;

pub use actors::outcome::unix_ms;

/// How many writer tasks share the record writes. A call's writes all go to one of them (by a
/// hash of its id), so they happen in the order the call reported them (its answer before its
/// end, its turns in order), while different calls are written side by side.
const WRITER_SHARDS: usize = 8;

/// One write the call actors asked for, queued to the call's writer.
enum RecordWrite {
    Answered { call_id: String, at: SystemTime },
    Turn { call_id: String, turn: NewTurn },
    Ended(Box<CallOutcome>),
}

impl RecordWrite {
    fn call_id(&self) -> &str {
        match self {
            RecordWrite::Answered { call_id, .. } | RecordWrite::Turn { call_id, .. } => call_id,
            RecordWrite::Ended(outcome) => &outcome.call_id,
        }
    }
}

/// Writes call records, transcript turns and cost lines to the store.
#[derive(Clone)]
pub struct StoreCallEvents {
    /// The writer shards: a call's writes always go to the same one, in order. Without that, an
    /// answer reported just before the end (a BYE that confirms a call whose ACK was lost) could
    /// be written after it, and the record would stay unanswered.
    shards: Arc<[mpsc::UnboundedSender<RecordWrite>]>,
}

/// What a writer shard needs to write.
#[derive(Clone)]
struct RecordStore {
    store: Store,
    pricing: PricingConfig,
    events: TenantEvents,
}

impl StoreCallEvents {
    /// Over `store`, pricing provider usage with `pricing`. Spawns the writer tasks, so it
    /// must be called inside a tokio runtime.
    pub fn new(store: Store, pricing: PricingConfig, events: TenantEvents) -> Self {
        let target = RecordStore {
            store,
            pricing,
            events,
        };
        let shards = (0..WRITER_SHARDS)
            .map(|_| {
                let (sender, mut queue) = mpsc::unbounded_channel::<RecordWrite>();
                let target = target.clone();
                tokio::spawn(async move {
                    while let Some(write) = queue.recv().await {
                        target.write(write).await;
                    }
                });
                sender
            })
            .collect();
        StoreCallEvents { shards }
    }

    fn queue(&self, write: RecordWrite) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        write.call_id().hash(&mut hasher);
        let shard = &self.shards[(hasher.finish() % self.shards.len() as u64) as usize];
        if let Err(mpsc::error::SendError(lost)) = shard.send(write) {
            error!(call_id = %lost.call_id(), "call record writer stopped: write lost");
        }
    }
}

/// Counts the call and its media in the metrics.
fn count_ended(outcome: &CallOutcome) {
    counter!("calls_ended_total", "hangup_by" => outcome.hangup_by.as_str(), "cause" => outcome.cause.clone())
        .increment(1);
    if let Some(media) = outcome.media.as_ref().map(|m| &m.summary) {
        counter!("rtp_packets_total", "direction" => "in").increment(media.packets_in);
        counter!("rtp_packets_total", "direction" => "out").increment(media.packets_out);
        counter!("rtp_lost_total").increment(media.lost);
        if media.packets_in > 0 {
            histogram!("rtp_jitter_ms").record(media.jitter_ms);
            histogram!("rtp_mos").record(media.mos);
        }
    }
}

/// `quantity` × `price` / `per`, rounded up to a whole micro-unit.
fn priced(quantity: u64, price_micros: i64, per: u64) -> i64 {
    let per = i128::from(per.max(1));
    let cost = (i128::from(quantity) * i128::from(price_micros.max(0)) + per - 1) / per;
    i64::try_from(cost).unwrap_or(i64::MAX)
}

/// The cost lines of a call's provider usage: (kind, provider, quantity, unit price, cost).
pub fn cost_lines(usage: &Usage, pricing: &PricingConfig) -> Vec<NewCostLine> {
    let line =
        |kind, provider: &str, quantity: u64, unit_price_micros: i64, cost_micros| NewCostLine {
            kind,
            provider: provider.to_string(),
            quantity: i64::try_from(quantity).unwrap_or(i64::MAX),
            unit_price_micros,
            cost_micros,
        };
    let mut lines = Vec::new();
    if let Some((provider, chars)) = usage.tts {
        let price = pricing.tts_per_million_chars_micros;
        lines.push(line(
            CostKind::TtsChars,
            provider,
            chars,
            price,
            priced(chars, price, 1_000_000),
        ));
    }
    if let Some((provider, ms)) = usage.stt {
        let price = pricing.stt_per_minute_micros;
        let secs = ms.div_ceil(1000);
        lines.push(line(
            CostKind::SttSecs,
            provider,
            secs,
            price,
            priced(ms, price, 60_000),
        ));
    }
    if let Some((provider, input, output)) = usage.llm {
        let (pin, pout) = (
            pricing.llm_input_per_million_tokens_micros,
            pricing.llm_output_per_million_tokens_micros,
        );
        lines.push(line(
            CostKind::LlmInputTokens,
            provider,
            input,
            pin,
            priced(input, pin, 1_000_000),
        ));
        lines.push(line(
            CostKind::LlmOutputTokens,
            provider,
            output,
            pout,
            priced(output, pout, 1_000_000),
        ));
    }
    lines
}

impl RecordStore {
    async fn write(&self, write: RecordWrite) {
        match write {
            RecordWrite::Answered { call_id, at } => {
                match self.store.mark_answered(&call_id, unix_ms(at)).await {
                    Ok(()) => {
                        self.events
                            .call_record(&call_id, EventKind::CallAnswered)
                            .await
                    }
                    Err(err) => error!(%call_id, %err, "call record: answer not written"),
                }
            }
            RecordWrite::Turn { call_id, turn } => {
                if let Err(err) = self.store.append_turn(&call_id, &turn).await {
                    error!(%call_id, %err, "transcript turn not written");
                }
            }
            RecordWrite::Ended(outcome) => self.end(&outcome).await,
        }
    }

    async fn end(&self, outcome: &CallOutcome) {
        let call_id = &outcome.call_id;
        for line in &cost_lines(&outcome.usage, &self.pricing) {
            if let Err(err) = self.store.add_cost_line(call_id, line).await {
                error!(%call_id, %err, "cost line not written");
            }
        }
        if outcome.answered_at.is_none() {
            // The meter's settlement refunds the reservation; this covers a settlement
            // that did not get written (a no-op when it did).
            if let Err(err) = self.store.refund_unanswered_call(call_id).await {
                error!(%call_id, %err, "reservation of an unanswered call not refunded");
            }
        }
        let media = outcome
            .media
            .as_ref()
            .and_then(|m| serde_json::to_string(m).ok());
        let end = CallEnd {
            state: CallState::Ended,
            ended_at: unix_ms(outcome.ended_at),
            hangup_cause: Some(outcome.cause.clone()),
            hangup_by: Some(outcome.hangup_by.as_str().to_string()),
            media,
        };
        match self.store.finish_call(call_id, &end).await {
            Ok(()) => self.events.call_record(call_id, EventKind::CallEnded).await,
            Err(err) => error!(%call_id, %err, "call record: end not written"),
        }
    }
}

impl CallEvents for StoreCallEvents {
    fn answered(&self, call_id: &str, at: SystemTime) {
        self.queue(RecordWrite::Answered {
            call_id: call_id.to_string(),
            at,
        });
    }

    fn turn(&self, call_id: &str, entry: TranscriptEntry) {
        let turn = NewTurn {
            speaker: match entry.speaker {
                Speaker::Caller => store::Speaker::Caller,
                Speaker::Agent => store::Speaker::Agent,
            },
            text: entry.text,
            dtmf: entry.dtmf,
            at: unix_ms(entry.at),
            interrupted: entry.interrupted,
            latency: entry.latency.map(|l| l.to_string()),
        };
        self.queue(RecordWrite::Turn {
            call_id: call_id.to_string(),
            turn,
        });
    }

    fn ended(&self, outcome: CallOutcome) {
        count_ended(&outcome);
        self.queue(RecordWrite::Ended(Box::new(outcome)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_is_priced_rounding_up() {
        let pricing = PricingConfig {
            stt_per_minute_micros: 6_000,
            llm_input_per_million_tokens_micros: 150_000,
            llm_output_per_million_tokens_micros: 600_000,
            tts_per_million_chars_micros: 15_000_000,
        };
        let usage = Usage {
            tts: Some(("espeak-ng", 70)),
            stt: Some(("local", 12_345)),
            llm: Some(("gpt", 1_000, 333)),
        };
        let lines = cost_lines(&usage, &pricing);
        let costs: Vec<i64> = lines.iter().map(|l| l.cost_micros).collect();
        // 70 chars × 15 /char = 1050; 12.345 s × 100/s = 1234.5 → 1235; 1000 × 0.15 = 150;
        // 333 × 0.6 = 199.8 → 200.
        assert_eq!(costs, [1_050, 1_235, 150, 200]);
        assert_eq!(lines[1].quantity, 13);
        assert!(cost_lines(&Usage::default(), &pricing).is_empty());
    }
}

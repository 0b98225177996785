//! Call records: turns the call actors' lifecycle reports into rows, written off the call path.

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

/// Writes call records, transcript turns and cost lines to the store.
#[derive(Clone)]
pub struct StoreCallEvents {
    store: Store,
    pricing: PricingConfig,
    events: TenantEvents,
    /// Turns go through one writer task, so each call's turns are numbered in order.
    turns: mpsc::UnboundedSender<(String, NewTurn)>,
}

impl StoreCallEvents {
    /// Over `store`, pricing provider usage with `pricing`. Spawns the transcript writer, so it
    /// must be called inside a tokio runtime.
    pub fn new(store: Store, pricing: PricingConfig, events: TenantEvents) -> Self {
        let (turns, mut queue) = mpsc::unbounded_channel::<(String, NewTurn)>();
        let writer = store.clone();
        tokio::spawn(async move {
            while let Some((call_id, turn)) = queue.recv().await {
                if let Err(err) = writer.append_turn(&call_id, &turn).await {
                    error!(%call_id, %err, "transcript turn not written");
                }
            }
        });
        StoreCallEvents {
            store,
            pricing,
            events,
            turns,
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

impl CallEvents for StoreCallEvents {
    fn answered(&self, call_id: &str, at: SystemTime) {
        let store = self.store.clone();
        let events = self.events.clone();
        let call_id = call_id.to_string();
        tokio::spawn(async move {
            match store.mark_answered(&call_id, unix_ms(at)).await {
                Ok(()) => events.call_record(&call_id, EventKind::CallAnswered).await,
                Err(err) => error!(%call_id, %err, "call record: answer not written"),
            }
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
        if self.turns.send((call_id.to_string(), turn)).is_err() {
            error!(%call_id, "transcript writer stopped: turn lost");
        }
    }

    fn ended(&self, outcome: CallOutcome) {
        count_ended(&outcome);
        let store = self.store.clone();
        let lines = cost_lines(&outcome.usage, &self.pricing);
        let events = self.events.clone();
        tokio::spawn(async move {
            for line in &lines {
                if let Err(err) = store.add_cost_line(&outcome.call_id, line).await {
                    error!(call_id = %outcome.call_id, %err, "cost line not written");
                }
            }
            if outcome.answered_at.is_none() {
                // The meter's settlement refunds the reservation; this covers a settlement
                // that did not get written (a no-op when it did).
                if let Err(err) = store.refund_unanswered_call(&outcome.call_id).await {
                    error!(call_id = %outcome.call_id, %err, "reservation of an unanswered call not refunded");
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
            match store.finish_call(&outcome.call_id, &end).await {
                Ok(()) => {
                    events
                        .call_record(&outcome.call_id, EventKind::CallEnded)
                        .await
                }
                Err(err) => {
                    error!(call_id = %outcome.call_id, %err, "call record: end not written")
                }
            }
        });
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

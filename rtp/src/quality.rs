//! Call quality as a MOS estimate from the ITU-T G.107 E-model, simplified for G.711.
//!
//! The E-model rates a connection with a transmission rating R (0–100) and maps it to a mean
//! opinion score (1–4.5). With every default parameter of ITU-T G.107 (06/2015) §7 and Table 3,
//! only delay and packet loss remain as variables:
//!
//! ```text
//! R       = 93.2 − Id − Ie,eff                                        (G.107 eq. 7-1, defaults)
//! Id      = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)                   (Cole & Rosenbluth 2001)
//! Ie,eff  = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl)               (G.107 eq. 7-29)
//! MOS     = 1 + 0.035·R + R·(R − 60)·(100 − R)·7·10⁻⁶  for 0 < R < 100  (G.107 Annex B, eq. B-4)
//!           1 for R ≤ 0, 4.5 for R ≥ 100
//! ```
//!
//! - `93.2` is `Ro − Is` with the G.107 default values (noise, loudness, sidetone), `A = 0`.
//! - `d` is the one-way mouth-to-ear delay in ms; `H(x)` is 1 for `x ≥ 0`, else 0. The linear
//!   fit of the G.107 delay impairment is from R. G. Cole and J. H. Rosenbluth, "Voice over IP
//!   performance monitoring", ACM SIGCOMM CCR 31(2), 2001.
//! - `Ie = 0` and `Bpl = 25.1` are the G.711 values with packet-loss concealment under random
//!   loss from ITU-T G.113 Appendix I; `BurstR = 1` means random (not bursty) loss. `Ppl` is the
//!   loss in percent.
//! - The Annex B polynomial dips slightly below 1 for R under about 6.5; the result is clamped to
//!   the scale's floor of 1.
//!
//! With no loss and little delay this gives R ≈ 92.7 and MOS ≈ 4.4, the ceiling for G.711.

/// `Ro − Is` with the ITU-T G.107 default parameters.
pub const E_MODEL_R_DEFAULT: f64 = 93.2;

/// Packet-loss robustness factor of G.711 with PLC under random loss (ITU-T G.113 App. I).
pub const G711_BPL: f64 = 25.1;

/// Delay beyond which the delay impairment rises steeply (Cole & Rosenbluth), in ms.
const DELAY_KNEE_MS: f64 = 177.3;

/// Transmission rating R for G.711 given one-way delay (ms) and random packet loss (percent).
///
/// Negative or NaN inputs count as 0; loss is capped at 100 %.
pub fn e_model_r(one_way_delay_ms: f64, loss_percent: f64) -> f64 {
    let d = one_way_delay_ms.max(0.0);
    let ppl = loss_percent.clamp(0.0, 100.0);
    let ppl = if ppl.is_nan() { 0.0 } else { ppl };
    let id = 0.024 * d
        + if d >= DELAY_KNEE_MS {
            0.11 * (d - DELAY_KNEE_MS)
        } else {
            0.0
        };
    let ie = 0.0;
    let burst_r = 1.0;
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl / burst_r + G711_BPL);
    E_MODEL_R_DEFAULT - id - ie_eff
}

/// Mean opinion score (1.0–4.5) for a transmission rating R (ITU-T G.107 Annex B).
pub fn mos_from_r(r: f64) -> f64 {
    if r.is_nan() || r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7.0e-6).max(1.0)
    }
}

/// MOS estimate for G.711 with the given one-way delay (ms) and random loss (percent).
pub fn estimate_mos(one_way_delay_ms: f64, loss_percent: f64) -> f64 {
    mos_from_r(e_model_r(one_way_delay_ms, loss_percent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 0.01
    }

    #[test]
    fn r_to_mos_reference_points() {
        // G.107 Annex B: R = 93.2 -> 4.41, R = 50 -> 2.58, R = 80 -> 4.02.
        assert!(close(mos_from_r(93.2), 4.41), "{}", mos_from_r(93.2));
        assert!(close(mos_from_r(50.0), 2.58), "{}", mos_from_r(50.0));
        assert!(close(mos_from_r(80.0), 4.02), "{}", mos_from_r(80.0));
        assert_eq!(mos_from_r(-5.0), 1.0);
        assert_eq!(mos_from_r(3.0), 1.0);
        assert_eq!(mos_from_r(120.0), 4.5);
        assert_eq!(mos_from_r(f64::NAN), 1.0);
    }

    #[test]
    fn delay_impairment() {
        assert!(close(e_model_r(0.0, 0.0), 93.2));
        assert!(close(e_model_r(100.0, 0.0), 93.2 - 2.4));
        // Past the knee: 0.024*300 + 0.11*(300-177.3) = 7.2 + 13.497.
        assert!(close(e_model_r(300.0, 0.0), 93.2 - 20.697));
    }

    #[test]
    fn loss_impairment_for_g711() {
        // 1 % random loss: Ie,eff = 95 * 1 / (1 + 25.1) = 3.64.
        assert!(close(e_model_r(0.0, 1.0), 93.2 - 3.640));
        // 5 %: 95 * 5 / 30.1 = 15.78.
        assert!(close(e_model_r(0.0, 5.0), 93.2 - 15.781));
        // Total loss: 95 * 100 / 125.1 = 75.94, and MOS falls to the floor.
        assert!(close(e_model_r(0.0, 100.0), 93.2 - 75.939));
        assert!(estimate_mos(0.0, 100.0) < 1.5);
    }

    #[test]
    fn mos_falls_with_loss_and_delay() {
        let mut prev = estimate_mos(20.0, 0.0);
        assert!(prev > 4.35 && prev < 4.45, "{prev}");
        for loss in [0.5, 1.0, 2.0, 5.0, 10.0, 20.0] {
            let m = estimate_mos(20.0, loss);
            assert!(m < prev, "loss {loss}: {m} !< {prev}");
            prev = m;
        }
        assert!(estimate_mos(400.0, 0.0) < estimate_mos(150.0, 0.0));
        assert_eq!(estimate_mos(-3.0, f64::NAN), estimate_mos(0.0, 0.0));
    }
}

//! The jitter buffer under a simulated network, in virtual time: in-order, reordered,
//! duplicated, lost and bursty streams, and the frames that come out.

mod common;

use std::time::Duration;

use common::netsim::{Loss, NetConfig, Netsim};
use common::{Kind, Sim};
use rtp::G711;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn netsim_counts_what_it_does() {
    let t0 = std::time::Instant::now();
    let cfg = NetConfig {
        loss: Loss::Random(0.1),
        duplicate: 0.1,
        jitter: Duration::from_millis(50),
        ..NetConfig::default()
    };
    let mut net = Netsim::new(cfg, 7);
    for i in 0..1000u32 {
        net.send(t0 + Duration::from_millis(20 * u64::from(i)), i);
    }
    let (mut delivered, mut last) = (0u64, t0);
    while let Some(at) = net.poll_timeout() {
        assert!(at >= last, "delivery times never go back");
        last = at;
        while net.poll_recv(at).is_some() {
            delivered += 1;
        }
    }
    assert_eq!(delivered, net.sent - net.lost + net.duplicated);
    assert!((60..140).contains(&net.lost), "{}", net.lost);
    assert!((50..130).contains(&net.duplicated), "{}", net.duplicated);
}

#[test]
fn granule_ids_survive_g711() {
    let mut buf = Vec::new();
    for first in [0u32, 126, 127, 5000, 16_000] {
        common::payload(first, 2, &mut buf);
        let mut pcm = [0i16; 160];
        G711::Pcmu.decode(&buf, &mut pcm);
        assert_eq!(common::frame_ids(&pcm), Some((first, first + 1)));
    }
}

#[test]
fn in_order_stream_plays_every_frame_once() {
    let mut sim = Sim::new(NetConfig::default(), 1, 20);
    sim.run_for(secs(10) - Duration::from_millis(1));
    sim.drain();
    let st = sim.stats();
    let sent = sim.net.sent;
    assert_eq!(sent, 500);
    assert_eq!(st.received, sent);
    assert_eq!(st.played, sent, "every packet played once");
    assert_eq!(
        (st.late, st.duplicate, st.reordered, st.shrunk),
        (0, 0, 0, 0)
    );
    let placed = sim.check_continuity();
    assert!(placed.concealed_before(sim.sent_end).is_empty());
    // After the last packet, three frames of fading concealment, then the buffer waits.
    assert_eq!(st.concealed, 3);
    assert_eq!(st.underruns, 1, "the stream ended once");
    assert_eq!(sim.played_ids().first(), Some(&0));
    // Two ticks before the first packet arrives (30 ms latency), one frame of buffering
    // silence, then audio without a break.
    let first_audio = sim.out.iter().position(|o| o.kind == Kind::Played);
    assert_eq!(first_audio, Some(3));
    assert_eq!(st.silence, 3);
    let last_audio = sim.out.iter().rposition(|o| o.kind == Kind::Played);
    let audio_run = &sim.out[3..=last_audio.expect("audio")];
    assert!(audio_run.iter().all(|o| o.kind == Kind::Played));
    assert_eq!(st.frames_out(), sim.pops);
    assert_eq!((st.target_depth_ms, st.jitter_ms), (20, 0.0));
}

#[test]
fn depth_sits_at_target_in_a_steady_stream() {
    let mut sim = Sim::new(NetConfig::default(), 1, 20);
    sim.run_for(secs(5));
    let st = sim.stats();
    assert!((20..40).contains(&st.current_depth_ms), "{st:?}");
    assert_eq!(st.expanded, 0);
}

#[test]
fn reordered_stream_plays_in_order_and_counts_late() {
    for seed in 0..10 {
        let net = NetConfig {
            jitter: Duration::from_millis(40),
            reorder: 0.05,
            reorder_delay: Duration::from_millis(50),
            ..NetConfig::default()
        };
        let mut sim = Sim::new(net, seed, 20);
        sim.run_for(secs(20));
        sim.drain();
        let st = sim.stats();
        let placed = sim.check_continuity();
        let concealed = placed.concealed_before(sim.sent_end);
        assert!(st.reordered > 10, "seed {seed}: {st:?}");
        assert_eq!(st.received + st.late, sim.net.sent, "seed {seed}");
        // Nothing was lost, so only late audio is concealed, each frame once.
        assert!(concealed.len() as u64 <= st.late, "seed {seed}: {st:?}");
        // From the first played frame on (the first packet may be overtaken by the second
        // and arrive after its buffering slot), every frame is played, concealed or skipped.
        let first = sim.played_ids()[0];
        assert_eq!(
            st.played + concealed.len() as u64 + placed.skipped_before(sim.sent_end).len() as u64,
            u64::from(sim.sent_end - first) / 2,
            "seed {seed}: {st:?}"
        );
        assert!(
            st.target_depth_ms > 20,
            "seed {seed}: jitter raised the target"
        );
        assert_eq!(st.frames_out(), sim.pops);
        let ids = sim.played_ids();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "strictly in order");
    }
}

#[test]
fn duplicates_are_dropped() {
    let net = NetConfig {
        duplicate: 0.2,
        jitter: Duration::from_millis(10),
        ..NetConfig::default()
    };
    let mut sim = Sim::new(net, 3, 20);
    sim.run_for(secs(10));
    sim.drain();
    let st = sim.stats();
    assert!(sim.net.duplicated > 50);
    assert_eq!(st.duplicate, sim.net.duplicated);
    assert_eq!(st.received + st.late, sim.net.sent);
    let placed = sim.check_continuity();
    let ids = sim.played_ids();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "no frame played twice");
    assert_eq!(
        st.played
            + placed.concealed_before(sim.sent_end).len() as u64
            + placed.skipped_before(sim.sent_end).len() as u64,
        sim.net.sent
    );
}

#[test]
fn each_lost_packet_is_concealed_exactly_where_it_was() {
    for seed in 0..10 {
        let net = NetConfig {
            loss: Loss::Random(0.05),
            ..NetConfig::default()
        };
        let mut sim = Sim::new(net, seed, 20);
        sim.run_for(secs(20));
        sim.drain();
        let st = sim.stats();
        let placed = sim.check_continuity();
        assert!(sim.net.lost > 20, "seed {seed}");
        assert_eq!(
            placed.concealed_before(sim.sent_end),
            sim.lost,
            "seed {seed}"
        );
        assert!(placed.skipped.is_empty(), "seed {seed}");
        assert_eq!(st.concealed as usize, placed.concealed.len(), "seed {seed}");
        assert_eq!(st.played + sim.net.lost, sim.net.sent, "seed {seed}");
        assert_eq!((st.late, st.underruns), (0, 1), "seed {seed}");
        // The buffer never ran dry before the stream ended.
        let last_audio = sim.out.iter().rposition(|o| o.kind == Kind::Played);
        let expanded_at = sim.out.iter().position(|o| o.kind == Kind::Expanded);
        assert!(expanded_at > last_audio, "seed {seed}");
    }
}

#[test]
fn bursty_loss_is_concealed_and_fades_to_silence() {
    let net = NetConfig {
        loss: Loss::GilbertElliott {
            p_gb: 0.03,
            p_bg: 0.25,
            loss_good: 0.0,
            loss_bad: 0.9,
        },
        ..NetConfig::default()
    };
    let mut sim = Sim::new(net, 11, 20);
    sim.run_for(secs(30));
    sim.drain();
    let st = sim.stats();
    assert!(sim.net.lost > 30, "{}", sim.net.lost);
    let placed = sim.check_continuity();
    for &g in &sim.lost {
        assert!(
            placed.covers(g),
            "granule {g} lost but neither concealed nor skipped"
        );
    }
    let concealed = placed.concealed_before(sim.sent_end);
    assert!(
        concealed.iter().all(|g| sim.lost.contains(g)),
        "only lost audio concealed"
    );
    assert_eq!(
        st.played + concealed.len() as u64 + placed.skipped_before(sim.sent_end).len() as u64,
        sim.net.sent
    );
    // From the fourth frame without audio on (60 ms), concealment is silent.
    let (mut since_audio, mut faded) = (0, 0);
    for o in &sim.out {
        if o.kind == Kind::Played {
            since_audio = 0;
            continue;
        }
        since_audio += 1;
        if o.kind == Kind::Concealed && since_audio >= 4 {
            assert_eq!(o.peak, 0, "concealment has faded out after 60 ms");
            faded += 1;
        }
    }
    assert!(faded > 0, "Gilbert-Elliott produced bursts of four or more");
}

#[test]
fn ten_and_thirty_ms_packets_come_out_as_twenty_ms_frames() {
    for ptime in [10, 30] {
        let mut sim = Sim::new(NetConfig::default(), 5, ptime);
        sim.run_for(secs(6) - Duration::from_millis(1));
        sim.drain();
        let st = sim.stats();
        assert_eq!(st.received, sim.net.sent);
        assert_eq!(st.played, 300, "ptime {ptime}: 6 s of 20 ms frames");
        let placed = sim.check_continuity();
        assert!(
            placed.concealed_before(sim.sent_end).is_empty(),
            "ptime {ptime}"
        );

        // With loss, every lost granule is inside a concealed frame, and played frames stay
        // in place.
        let net = NetConfig {
            loss: Loss::Random(0.05),
            ..NetConfig::default()
        };
        let mut sim = Sim::new(net, 6, ptime);
        sim.run_for(secs(10));
        sim.drain();
        let placed = sim.check_continuity();
        assert!(sim.lost.len() > 5);
        for &g in &sim.lost {
            for granule in g..g + ptime / 10 {
                assert!(
                    placed.covers(granule),
                    "ptime {ptime}: granule {granule} lost"
                );
            }
        }
        assert!(placed.skipped.is_empty());
    }
}

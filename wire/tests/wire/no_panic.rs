//! Decoding never panics, whatever the input: mutated valid inputs and random bytes go through
//! every decoder. Deterministic (a fixed xorshift seed), bounded, and run on native and wasm32.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use wire::challenge::{Challenge, ChallengePolicy};
use wire::directory::Directory;
use wire::envelope;
use wire::submission::Submission;
use wire::{BaseUrl, CodeId, Day, Key, KeyPurpose, Keyring, QrPayload, Revocations};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(5) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 if !v.is_empty() => v.truncate(rng.below(v.len())),
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            3 if !v.is_empty() => {
                let i = rng.below(v.len());
                const BYTES: &[u8] = b"A7z{}[]\":,\\\x00\xff\xe4";
                v[i] = BYTES[rng.below(BYTES.len())];
            }
            _ => v.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
        }
    }
    v
}

#[test]
fn decoders_never_panic() {
    let vectors = include_str!("../../vectors/vectors.json");
    let v: wire::vectors::Vectors = serde_json::from_str(vectors).unwrap();
    let qr = Keyring::parse(KeyPurpose::Qr, &v.keys.qr.join(",")).unwrap();
    let ch = Keyring::parse(KeyPurpose::Challenge, &v.keys.challenge.join(",")).unwrap();
    let up = Keyring::parse(KeyPurpose::Upstream, &v.keys.upstream.join(",")).unwrap();
    let mut seeds: Vec<Vec<u8>> = vec![];
    seeds.extend(v.qr.iter().map(|c| c.segment.clone().into_bytes()));
    seeds.extend(v.challenge.iter().map(|c| c.text.clone().into_bytes()));
    seeds.extend(v.rating.iter().map(|c| c.submission.clone().into_bytes()));
    seeds.extend(v.envelope.iter().map(|c| c.signature.clone().into_bytes()));
    seeds.push(Directory::new(vec![v.entry.clone()]).to_json().into_bytes());
    seeds.push(v.revocations.clone().into_bytes());
    seeds.push(v.keys.qr[0].clone().into_bytes());
    seeds.push(b"https://pj.example.gov.cn/".to_vec());
    seeds.push(b"2026-11-22".to_vec());
    seeds.push(include_bytes!("../../calendars/2026.json").to_vec());
    seeds.push(b"09:00-17:30".to_vec());
    seeds.push(
        wire::seal::seal(ch.current(), "SECabc")
            .unwrap()
            .into_bytes(),
    );
    let code = CodeId::parse(&v.challenge[0].code).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let rounds = if cfg!(target_arch = "wasm32") {
        3_000
    } else {
        20_000
    };
    for _ in 0..rounds {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        let text = String::from_utf8_lossy(&input);
        let _ = wire::base32::decode(&text);
        let _ = QrPayload::open(&text, &qr);
        let _ = QrPayload::open_bytes(&input, &qr);
        let _ = Challenge::decode(&text);
        let _ = Challenge::verify(
            &text,
            rng.next() as u32,
            &ch,
            code,
            None,
            1_795_305_610,
            &ChallengePolicy::default(),
        );
        let _ = Submission::from_json(&input).map(|s| s.rating.validate());
        let _ = Directory::from_json(&text);
        let _ = Revocations::from_json(&text);
        let _ = wire::calendar::YearCalendar::from_json(&text);
        let _ = wire::calendar::OfficeHours::parse(&text);
        let _ = Key::parse(&text);
        let _ = Keyring::parse(KeyPurpose::Qr, &text);
        let _ = BaseUrl::parse(&text);
        let _ = Day::parse(&text);
        let _ = CodeId::parse(&text);
        let signed = envelope::Signed {
            idempotency_key: &text,
            revision: &text,
            body: &input,
        };
        let _ = envelope::verify(&up, &text, &signed, 1_795_305_610, 300);
        let _ = wire::alert::webhook_verify(b"k", &text, &input, 1_795_305_610, 300);
        let _ = wire::workorder::Event::parse(&input);
        let _ = wire::key::unhex(&text);
        let _ = wire::seal::open(&ch, &text);
    }
}

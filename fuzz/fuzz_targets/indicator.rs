//! Type detection and normalization: any text never panics, and a canonical value is a
//! fixed point: classifying or normalizing it again gives it back unchanged.
#![no_main]

use feedsmith::indicator::{AttrType, Options, classify, normalize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let opts = Options::default();
    if let Ok(first) = classify(text, &opts) {
        let kind = first.indicator.kind;
        let again = normalize(kind, &first.indicator.value, &opts)
            .unwrap_or_else(|r| panic!("{text:?} gave {:?}, which normalizes to {r:?}", first.indicator));
        assert_eq!(again.indicator, first.indicator, "from {text:?}");
    }
    for kind in ["ip-dst", "domain", "hostname", "url", "md5", "ip-dst|port", "email-src", "filename"] {
        let kind = AttrType::from_name(kind).expect("a known type");
        if let Ok(first) = normalize(kind, text, &opts) {
            let again = normalize(kind, &first.indicator.value, &opts)
                .unwrap_or_else(|r| panic!("{text:?} as {kind:?} gave {:?}, then {r:?}", first.indicator));
            assert_eq!(again.indicator, first.indicator, "from {text:?} as {kind:?}");
        }
    }
});

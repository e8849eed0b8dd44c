use std::borrow::Cow;

use serde_json::{Value, json};

use super::*;
use crate::indicator::{AttrType, Indicator};

fn settings() -> EventSettings<'static> {
    EventSettings {
        task_id: "c2",
        path: "misp/c2",
        info: "C2 <test>",
        org_name: "Example",
        threat_level: 4,
        tlp: "tlp:clear",
        distribution: None,
        events: EventMode::Fixed,
        retention_days: 7,
        now: 1_787_443_200,
    }
}

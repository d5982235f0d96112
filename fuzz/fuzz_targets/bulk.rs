//! bytes → JSON → `parse_bulk_request(body, 1000)`, then `BulkScheduler` driven to the end
//! with operations alternately succeeding and failing: it must yield every operation exactly
//! once, resolve every reference it hands out, and stop within `operations.len() + 1` steps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scim_model::{BulkScheduler, BulkStep, parse_bulk_request};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(request) = parse_bulk_request(&body, 1000) else {
        return;
    };
    let count = request.operations.len();
    assert!(
        count <= 1000,
        "{count} operations accepted with a maximum of 1000"
    );
    let mut scheduler = BulkScheduler::new(&request);
    let mut seen = vec![false; count];
    let mut succeed = true;
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(
            steps <= count + 1,
            "the scheduler did not stop after {count} operations"
        );
        let Some(step) = scheduler.next_step() else {
            break;
        };
        let index = match step {
            BulkStep::Execute { index, operation } => {
                assert!(
                    operation.references().is_empty(),
                    "operation {index} executed with unresolved references: {operation:?}"
                );
                let created = succeed.then(|| format!("id-{index}"));
                succeed = !succeed;
                scheduler.completed(index, created);
                index
            }
            BulkStep::Unresolvable { index, .. } => {
                scheduler.completed(index, None);
                index
            }
        };
        assert!(index < count, "step for operation {index} of {count}");
        assert!(!seen[index], "operation {index} scheduled twice");
        seen[index] = true;
    }
    assert!(
        seen.iter().all(|s| *s),
        "the scheduler stopped with operations left"
    );
});

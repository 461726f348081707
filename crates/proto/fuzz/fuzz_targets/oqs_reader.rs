//! Arbitrary bytes into the reader of receipt-computer files, as a receipt
//! computer (or anyone with a link credential) can send them. Nothing may
//! panic; whatever the input, the answer is a document or a refusal with
//! its code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zaitaku_proto::oqs::read;

fuzz_target!(|data: &[u8]| {
    match read(data) {
        Ok(doc) => {
            // Walk the tree the way the message readers will.
            let mut stack = vec![&doc.root];
            while let Some(e) = stack.pop() {
                let _ = e.child(&e.name);
                stack.extend(e.children.iter());
            }
        }
        Err(e) => {
            let _ = (e.code(), e.message());
        }
    }
});

//! Arbitrary bytes into the reader of receipt-computer files and every
//! message read from them, as a receipt computer (or anyone with a link
//! credential) can send them. Nothing may panic; whatever the input, the
//! answer is a message or a refusal with its code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zaitaku_proto::oqs::batch::{BatchResult, BatchUpload, ConsentedUpload, DownloadRequest, UploadReceipt};
use zaitaku_proto::oqs::individual::{IndividualRequest, IndividualResult};
use zaitaku_proto::oqs::reference::{RegistrationRequest, RegistrationResult};
use zaitaku_proto::oqs::{Rejection, read};

fn refused(r: &Rejection) {
    let _ = (r.code(), r.message(), r.err_text());
}

fuzz_target!(|data: &[u8]| {
    match read(data) {
        Ok(doc) => {
            if let Ok(r) = IndividualRequest::read(&doc) {
                if let Err(e) = &r.search {
                    refused(e);
                }
            }
            let _ = IndividualResult::read(&doc).map_err(|e| refused(&e));
            let _ = ConsentedUpload::read(&doc).map_err(|e| refused(&e));
            let _ = DownloadRequest::read(&doc).map_err(|e| refused(&e));
            let _ = UploadReceipt::read(&doc).map_err(|e| refused(&e));
            let _ = BatchResult::read(&doc).map_err(|e| refused(&e));
            let _ = RegistrationResult::read(&doc).map_err(|e| refused(&e));
        }
        Err(e) => {
            let _ = (e.code(), e.message());
        }
    }
    // The readers that take persons one at a time, as the server does.
    let _ = BatchUpload::read_each(data, &mut |_, search| {
        if let Err(e) = &search {
            refused(e);
        }
        Ok(())
    });
    let _ = RegistrationRequest::read_each(data, &mut |_, r| {
        if let Err(e) = &r {
            refused(e);
        }
        Ok(())
    });
});

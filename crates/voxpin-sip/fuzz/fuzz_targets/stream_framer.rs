//! Fuzzes TCP stream framing: the input is split into chunks (the first byte picks the chunk
//! size) and fed to a `StreamFramer`; it must never panic and never yield more bytes than fed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxpin_sip::msg::StreamFramer;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut framer = StreamFramer::new(4096);
    let mut framed = 0usize;
    for piece in stream.chunks(chunk) {
        if framer.push(piece).is_err() {
            break;
        }
        while let Some(frame) = framer.next_frame() {
            if let Ok(frame) = frame {
                framed += frame.len();
            }
        }
    }
    assert!(framed <= stream.len());
});

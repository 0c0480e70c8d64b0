//! The AMQP decoder under an allocator that records the largest allocation: a message that
//! declares more bytes than it has is refused without asking for them (vendor/serde_amqp, fuzzing
//! finding 8). In its own test binary, so that the recording allocator is this test's alone.

#![allow(
    unsafe_code,
    reason = "a global allocator that forwards to the system's"
)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use fe2o3_amqp::types::messaging::Body;
use fe2o3_amqp::types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp::types::primitives::Value;
use serde_amqp::read::{IoReader, SliceReader};

/// The system allocator, recording the largest single request.
struct Recording;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Recording {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Recording = Recording;

/// The largest allocation made by `work`, and what it returned.
fn largest_allocation<T>(work: impl FnOnce() -> T) -> (usize, T) {
    LARGEST.store(0, Ordering::Relaxed);
    let result = work();
    (LARGEST.load(Ordering::Relaxed), result)
}

#[test]
fn a_data_section_declaring_4_gib_is_refused_without_allocating_them() {
    let found = include_bytes!(
        "../../../fuzz/corpus/event_hubs_message/regression-data-section-declares-4GiB"
    );
    // A message in one transfer frame is read from a slice, one over several frames from a
    // stream (fe2o3-amqp's receiver link).
    let (largest, decoded) =
        largest_allocation(|| <Body<Value>>::decode_message_from_reader(SliceReader::new(found)));
    assert!(decoded.is_err());
    assert!(largest < 1 << 20, "from a slice: asked for {largest} bytes");
    let (largest, decoded) =
        largest_allocation(|| <Body<Value>>::decode_message_from_reader(IoReader::new(&found[..])));
    assert!(decoded.is_err());
    assert!(
        largest < 1 << 20,
        "from a stream: asked for {largest} bytes"
    );
}

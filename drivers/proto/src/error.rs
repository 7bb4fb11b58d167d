// SPDX-License-Identifier: GPL-2.0
//! The single error type of every parser and builder in this crate.

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Why a message was rejected (parsers) or could not be written (builders).
///
/// Each variant names one class of malformed input so that callers can
/// count and log rejects precisely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The input ends before a fixed-size field or structure does.
    Truncated,
    /// A length field claims more bytes than the input holds.
    OverlongLength,
    /// A length field is smaller than the structure it describes.
    LengthTooSmall,
    /// An offset points past the end of its enclosing message or area.
    OffsetPastEnd,
    /// An offset points into the fixed header it must follow.
    OffsetInsideHeader,
    /// A per-packet-info entry has size 0.
    ZeroSizePpi,
    /// A per-packet-info entry's data offset points inside its own header.
    PpiOffsetInsideHeader,
    /// A per-packet-info entry's data offset is beyond the entry's size.
    PpiOffsetPastEnd,
    /// A per-packet-info entry is smaller than its header or extends past
    /// the per-packet-info area.
    PpiOverrun,
    /// A known per-packet-info entry holds too few bytes for its value.
    PpiTooShort,
    /// More ranges/entries than fit or than the protocol maximum allows.
    TooManyRanges,
    /// A range lies outside the buffer it refers to.
    RangeOutOfBounds,
    /// The data area overlaps the per-packet-info area.
    Overlap,
    /// An unknown or unsupported protocol version.
    BadVersion,
    /// An unknown message or packet type.
    UnknownType,
    /// A known message type that is not valid in this direction.
    UnexpectedMessage,
    /// A size or offset is not a multiple of the required alignment.
    Misaligned,
    /// An element count field has an invalid value.
    InvalidCount,
    /// A field holds a value outside its defined set.
    InvalidValue,
    /// The output buffer is too small for the message being built.
    BufferTooSmall,
    /// A value is too large to be encoded in its wire field.
    TooLarge,
}

impl Error {
    /// A short, stable, human-readable description (no `Display` needed).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Error::Truncated => "input truncated",
            Error::OverlongLength => "length field exceeds available bytes",
            Error::LengthTooSmall => "length field smaller than structure",
            Error::OffsetPastEnd => "offset past end",
            Error::OffsetInsideHeader => "offset inside header",
            Error::ZeroSizePpi => "per-packet-info entry of size 0",
            Error::PpiOffsetInsideHeader => "per-packet-info offset inside its header",
            Error::PpiOffsetPastEnd => "per-packet-info offset past entry end",
            Error::PpiOverrun => "per-packet-info entry overruns its area",
            Error::PpiTooShort => "per-packet-info entry too short for its type",
            Error::TooManyRanges => "too many ranges",
            Error::RangeOutOfBounds => "range out of bounds",
            Error::Overlap => "data area overlaps per-packet-info area",
            Error::BadVersion => "bad protocol version",
            Error::UnknownType => "unknown message type",
            Error::UnexpectedMessage => "message not valid in this direction",
            Error::Misaligned => "misaligned size or offset",
            Error::InvalidCount => "invalid element count",
            Error::InvalidValue => "invalid field value",
            Error::BufferTooSmall => "output buffer too small",
            Error::TooLarge => "value too large for wire field",
        }
    }
}

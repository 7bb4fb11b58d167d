// SPDX-License-Identifier: GPL-2.0
//! Bounds-checked little-endian field access on byte slices.
//!
//! Every accessor returns [`Error::Truncated`] (reads) or
//! [`Error::BufferTooSmall`] (writes) instead of panicking when the field
//! does not lie inside the slice.

use super::error::{Error, Result};

/// Returns `buf[off..off + len]`, or [`Error::Truncated`].
#[inline]
pub fn slice(buf: &[u8], off: usize, len: usize) -> Result<&[u8]> {
    let end = off.checked_add(len).ok_or(Error::Truncated)?;
    buf.get(off..end).ok_or(Error::Truncated)
}

/// Returns `buf[off..off + len]` mutably, or [`Error::BufferTooSmall`].
#[inline]
pub fn slice_mut(buf: &mut [u8], off: usize, len: usize) -> Result<&mut [u8]> {
    let end = off.checked_add(len).ok_or(Error::BufferTooSmall)?;
    buf.get_mut(off..end).ok_or(Error::BufferTooSmall)
}

/// Reads the byte at `off`.
#[inline]
pub fn read_u8(buf: &[u8], off: usize) -> Result<u8> {
    buf.get(off).copied().ok_or(Error::Truncated)
}

/// Reads a little-endian `u16` at `off`.
#[inline]
pub fn read_u16(buf: &[u8], off: usize) -> Result<u16> {
    let s = slice(buf, off, 2)?;
    let mut a = [0u8; 2];
    a.copy_from_slice(s);
    Ok(u16::from_le_bytes(a))
}

/// Reads a little-endian `u32` at `off`.
#[inline]
pub fn read_u32(buf: &[u8], off: usize) -> Result<u32> {
    let s = slice(buf, off, 4)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Ok(u32::from_le_bytes(a))
}

/// Reads a little-endian `u64` at `off`.
#[inline]
pub fn read_u64(buf: &[u8], off: usize) -> Result<u64> {
    let s = slice(buf, off, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Ok(u64::from_le_bytes(a))
}

/// Writes one byte at `off`.
#[inline]
pub fn write_u8(buf: &mut [u8], off: usize, v: u8) -> Result<()> {
    let b = buf.get_mut(off).ok_or(Error::BufferTooSmall)?;
    *b = v;
    Ok(())
}

/// Writes a little-endian `u16` at `off`.
#[inline]
pub fn write_u16(buf: &mut [u8], off: usize, v: u16) -> Result<()> {
    slice_mut(buf, off, 2)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// Writes a little-endian `u32` at `off`.
#[inline]
pub fn write_u32(buf: &mut [u8], off: usize, v: u32) -> Result<()> {
    slice_mut(buf, off, 4)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// Writes a little-endian `u64` at `off`.
#[inline]
pub fn write_u64(buf: &mut [u8], off: usize, v: u64) -> Result<()> {
    slice_mut(buf, off, 8)?.copy_from_slice(&v.to_le_bytes());
    Ok(())
}

/// Copies `src` to `buf[off..]`.
#[inline]
pub fn write_bytes(buf: &mut [u8], off: usize, src: &[u8]) -> Result<()> {
    slice_mut(buf, off, src.len())?.copy_from_slice(src);
    Ok(())
}

/// Zero-fills `buf[off..off + len]`.
#[inline]
pub fn zero(buf: &mut [u8], off: usize, len: usize) -> Result<()> {
    slice_mut(buf, off, len)?.fill(0);
    Ok(())
}

/// Rounds `v` up to a multiple of 8, or [`Error::TooLarge`] on overflow.
#[inline]
pub fn align8(v: usize) -> Result<usize> {
    v.checked_add(7).map(|x| x & !7).ok_or(Error::TooLarge)
}

/// Converts a `usize` to `u32`, or [`Error::TooLarge`].
#[inline]
pub fn to_u32(v: usize) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::TooLarge)
}

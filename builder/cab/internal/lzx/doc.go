// Package lzx decompresses LZX, the compression method 3 of Microsoft
// Cabinet (CAB) folders, written from Microsoft's descriptions of the
// format (the Cabinet SDK's LZX document and [MS-PATCH], whose LZX DELTA
// is a superset).
//
// # What it decodes
//
// Windows of 2^15 to 2^21 bytes (the cabinet folder's compression type
// carries the window bits in bits 8 to 12). Verbatim, aligned-offset and
// uncompressed blocks, the repeated-offset queue, and the Intel E8 call
// translation (applied to the first 32768 frames of a folder, as
// Microsoft's decoder does). The LZX DELTA extensions of [MS-PATCH]
// (reference data, windows above 2 MiB, chunk-size headers, match lengths
// above 257) and the reset interval of CHM files are not supported.
//
// # Framing
//
// A cabinet folder's LZX stream is cut into frames of 32768 output bytes
// (the last frame of a folder may be shorter), and Microsoft's compressor
// flushes its bitstream to a 16-bit boundary at the end of every frame,
// so that each CFDATA block holds exactly the bits of one frame.
// DecodeFrame relies on that: call it once per CFDATA block, in order,
// with that block's payload and a destination as long as the block's
// declared uncompressed size. LZX blocks, Huffman trees, repeated offsets
// and the window carry over from one frame to the next; Reset starts a new
// folder. Every frame but the last must be 32768 bytes long: a frame that
// would cross the end of the window is rejected.
//
// # Hostile input
//
// Every decoding error matches ErrCorrupt under errors.Is and names the
// frame it happened in. Decoding never writes past the destination, never
// reads past the source, allocates nothing per frame beyond the decoding
// tables (the window is at most 2 MiB), and runs in time linear in the
// frame size, whatever the input. A frame may read at most 16 bits beyond
// the end of its input (taken as zeros, so that the last codes decode
// with a full table look-up); one needing more is corrupt. Matches that
// reach before the start of the folder's output, that cross the end of
// their LZX block or frame, and codes that a tree does not have (empty,
// incomplete or over-subscribed trees) are errors. After an error the
// decoder refuses further frames until Reset.
//
// Encode is a simple compressor meant for tests and benchmarks only.
package lzx

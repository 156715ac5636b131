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
// translation (applied, as Microsoft's decoder does, to the frames longer
// than 10 bytes among the first 32768 of a folder). The LZX DELTA extensions of [MS-PATCH]
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
// declared uncompressed size. LZX blocks (which may span frames), Huffman
// trees, repeated offsets and the window carry over from one frame to the
// next; Reset starts a new folder. Only a folder's last frame should be
// shorter than 32768 bytes: after a short frame, a frame that would cross
// the end of the window is rejected.
//
// A frame's input is read as its own bitstream: bits left over at its end
// (the padding to 16 bits, or trailing bytes) are ignored. The one
// exception is the byte that pads an odd-sized uncompressed block ending
// exactly at a frame's end: it is taken from the end of that frame's input
// if there is one more byte there, else from the start of the next.
//
// # Hostile input
//
// Every decoding error matches ErrCorrupt under errors.Is and names the
// frame it happened in. Whatever the input, decoding never writes past the
// destination nor reads past the source, and takes time linear in the
// sizes of the frame and its input. A decoder holds the window (at most
// 2 MiB) and its decoding tables (under 200 KiB, sized as blocks need),
// and allocates nothing else, errors aside. A frame may read at most 16 bits beyond the end of
// its input (taken as zeros, so that its last codes decode with a
// full-width table look-up); one that needs more is corrupt. So are
// over-subscribed trees, codes that a tree lacks (all of an empty tree's,
// the unused ones of an incomplete tree: both are accepted until such a
// code turns up), matches that reach before the start of the folder's
// output or beyond the window, and matches or uncompressed data that
// cross the end of their LZX block or frame. That includes a folder's last
// match running past the declared end of its last frame, which a Quantum
// decoder accepts: libmspack's LZX decoder requires every frame to end
// exactly at its size, and cabextract refuses such a cabinet too. After an
// error the decoder refuses further frames until Reset.
//
// Encode is a simple compressor meant for tests and benchmarks only.
package lzx

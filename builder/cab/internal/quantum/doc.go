// Package quantum decodes the Quantum compression method (David Stafford's
// compressor, adopted by Microsoft) as it appears in the folders of Microsoft
// Cabinet files, compression type 2.
//
// # Format
//
// Quantum is an LZ77 coder whose output symbols are written with an adaptive
// arithmetic coder working on 16-bit registers. Seven symbol models adapt as
// they are used: a selector model picks, for each step, one of four literal
// models (64 byte values each, 0-63, 64-127, 128-191 and 192-255) or one of
// three match kinds: a 3-byte match (selector 4), a 4-byte match (selector 5)
// or a match of 5 to 259 bytes whose length comes from a length model
// (selector 6). Each match kind has its own position-slot model; a slot and
// some raw bits read straight from the bit stream give the match distance,
// which reaches back at most one window.
//
// In a cabinet, each CFDATA block of a Quantum folder holds one frame of (at
// most) 32 KiB of output, and Microsoft's extractor hands the decompressor
// one block at a time. The arithmetic coder starts afresh for every frame,
// reading the first 16 bits of the block into its code register, while the
// window and the models carry over from frame to frame until the end of the
// folder. [Decoder.DecodeFrame] works the same way. Microsoft's encoder
// appears to end a frame by writing out its low register in full, so that the
// decoder never needs bits beyond the block, then two zero bits and zeros up
// to a byte boundary: the Microsoft-made sample in the test corpus does, and
// 7-Zip's decoder insists on it.
//
// Decoders that see a folder as one continuous stream cannot tell where a
// frame's code ends. libmspack's cabinet reader therefore appends one 0xFF
// byte to every Quantum block's data; at the end of each 32 KiB frame its
// decoder drops the rest of the current byte, then skips bytes up to and
// including that 0xFF, whatever padding (a few zero bytes) the block has.
// (Its input buffer had to grow by that byte: a block of the largest size
// overflowed it, CVE-2018-18584.)
//
// # Promises and limits
//
// The decoder is meant for hostile input. Every error wraps [ErrCorrupt];
// it never panics, never writes beyond the destination it is given, and its
// work is bounded by the sizes of its input and output: each step of the
// decoding loop produces at least one byte, and at most a small, fixed amount
// of zero padding is supplied when a frame's input runs out. A stream is
// rejected when a match reaches before the first byte of the folder's output
// or runs past the end of the frame, when the arithmetic code leaves its
// interval, or when a frame needs more input than it has.
//
// A match that runs past the declared end of a frame but stays inside the
// 32 KiB frame and the window is decoded, and only the declared bytes are
// written, as libmspack does: encoders end a folder that way when its last
// block declares fewer bytes than they parsed. Such a frame must be the
// folder's last; a frame after it is refused.
//
// The decoder does not check the bytes left over after a frame's last symbol
// (encoders may pad), and it reads up to 16 missing bits past the end of a
// block's data as zeros, which is what an encoder ending its code with the
// fewest bits relies on. Each call is one frame: a block shorter than 32 KiB
// is decoded as a frame of its own, wherever it stands in the folder. The
// decoder knows nothing of the cabinet around it: block checksums, the
// joining of blocks split across cabinets and the limits on a block's
// compressed size are the cabinet reader's business. There is no encoder in
// the package (its tests have a simple one).
package quantum

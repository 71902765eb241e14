/// <reference types="node" />

// require('ffi/buffer') installs these on Buffer.prototype.
declare global {
  interface Buffer {
    /** The pointer stored at `offset` in little-endian order, as a pointer Buffer `length` bytes long. */
    readPointerLE(offset?: number, length?: number): Buffer
    /** The pointer stored at `offset` in big-endian order, as a pointer Buffer `length` bytes long. */
    readPointerBE(offset?: number, length?: number): Buffer
    /** Stores `ptr`'s address at `offset` in little-endian order; keeps `ptr` alive with this Buffer. */
    writePointerLE(ptr: Buffer | null, offset?: number): void
    /** Stores `ptr`'s address at `offset` in big-endian order; keeps `ptr` alive with this Buffer. */
    writePointerBE(ptr: Buffer | null, offset?: number): void
    /** The address of this Buffer's first byte (`ffi.address(this)`). */
    address(): number
  }
}

export {}

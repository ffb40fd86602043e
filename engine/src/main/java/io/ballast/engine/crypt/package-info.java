/**
 * Encrypted volumes: a {@link io.ballast.engine.crypt.EncryptedBlockVolume} in front of any
 * {@link io.ballast.engine.volume.BlockVolume} encrypts each 4 KiB sector before it leaves the
 * attaching node's frontend (so replicas, logs, journals, snapshots and clones hold ciphertext
 * only), with the volume's data key kept in LUKS-style key slots at the start of the volume
 * ({@link io.ballast.engine.crypt.KeyHeaderLayout}), each slot the data key wrapped by a key derived
 * from a passphrase. The cipher is the JDK's: AES-256 in CBC mode with ESSIV sector IVs
 * ({@link io.ballast.engine.crypt.SectorCipher}); docs/security.md says why and what it leaks.
 */
package io.ballast.engine.crypt;

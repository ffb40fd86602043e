/**
 * A replica's user snapshots and clones: the registry of snapshots in a replica's directory, applying
 * the snapshot entries of the log, and the state of a clone filled from its origin.
 */
package io.ballast.replication.snapshot;

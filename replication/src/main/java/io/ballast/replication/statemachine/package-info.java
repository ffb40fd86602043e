/**
 * The Ratis state machine of a volume replica ({@link io.ballast.replication.statemachine.VolumeStateMachine}):
 * applies entries to the local store, answers read-only queries, takes checkpoints and installs a
 * rebuild, using the parts of {@code entry}, {@code checkpoint}, {@code rebuild} and {@code snapshot}.
 */
package io.ballast.replication.statemachine;

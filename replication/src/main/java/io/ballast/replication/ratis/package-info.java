/**
 * Glue to Apache Ratis shared by the volume groups and the catalog: the one place where Ratis's
 * exceptions become {@link io.ballast.engine.error.BallastException}s, and back (refusals carry
 * their code across the wire), the state machines' pause, and snapshot and group requests to the node's own server.
 */
package io.ballast.replication.ratis;

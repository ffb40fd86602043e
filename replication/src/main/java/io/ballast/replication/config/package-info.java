/**
 * A node's replication settings ({@link io.ballast.replication.config.ReplicationConfig}) and the Ratis
 * properties derived from them ({@link io.ballast.replication.config.RaftServerSettings}).
 */
package io.ballast.replication.config;

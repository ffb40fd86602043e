/**
 * The cluster catalog: one more Raft group on the nodes' Ratis servers holding nodes, volumes,
 * placement, attachments and snapshots ({@link io.ballast.replication.catalog.Catalog} the model,
 * {@link io.ballast.replication.catalog.CatalogStateMachine} its state machine), the client every
 * process uses, and this node's membership of the group ({@link io.ballast.replication.catalog.CatalogMember}).
 */
package io.ballast.replication.catalog;

/**
 * A node's volumes: the replica groups it hosts and the frontends (writer handles exported over
 * NBD, or block devices through FUSE and loop) of the volumes attached on it, with attach, detach,
 * re-attach after a fence, leadership locality, clone fill and replica membership.
 */
package io.ballast.volumes;

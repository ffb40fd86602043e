/**
 * Composition roots of the two long-running processes: {@code ballast node} (Raft node, volumes,
 * NBD and FUSE frontends, admin API, CSI Node service, catalog agent, metrics) and
 * {@code ballast controller} (catalog clients, cluster backend, repair loop, CSI Identity and
 * Controller). Only {@code cli} depends on this package.
 */
package io.ballast.daemon;

/**
 * Changing a volume group's members (add with a rebuild, remove deleting the data) and moving its
 * leadership, through Ratis's configuration changes.
 */
package io.ballast.replication.membership;

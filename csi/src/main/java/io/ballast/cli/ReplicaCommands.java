package io.ballast.cli;

import io.ballast.proto.v1.AddReplicaRequest;
import io.ballast.proto.v1.AddReplicaResponse;
import io.ballast.proto.v1.Peer;
import io.ballast.proto.v1.RemoveReplicaRequest;
import io.ballast.proto.v1.RemoveReplicaResponse;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code ballast volume add-replica / remove-replica}: membership changes of a live volume. */
final class ReplicaCommands {
    /** Adding a member waits for its block copy; the node gives up after 10 minutes, so do we (plus a margin). */
    static final long ADD_DEADLINE_SECONDS = 11 * 60;

    private ReplicaCommands() {}

    /** Parses {@code NODE=HOST:PORT} (or just {@code NODE} when the address is optional). */
    static Peer parse(CommandSpec spec, String replica, boolean addressRequired) {
        return parse(spec, "--replica", replica, addressRequired);
    }

    /** As {@link #parse(CommandSpec, String, boolean)}, naming {@code option} in errors. */
    static Peer parse(CommandSpec spec, String option, String replica, boolean addressRequired) {
        int eq = replica.indexOf('=');
        String id = eq < 0 ? replica : replica.substring(0, eq);
        String address = eq < 0 ? "" : replica.substring(eq + 1);
        if (id.isEmpty() || (addressRequired && address.isEmpty()) || (eq >= 0 && address.isEmpty())) {
            throw new ParameterException(spec.commandLine(), option + " '" + replica + "': expected "
                    + (addressRequired ? "NODE=HOST:PORT, e.g. n4=127.0.0.1:7104" : "NODE or NODE=HOST:PORT, e.g. n3"));
        }
        if (!address.isEmpty() && !address.matches("[^\\s:]+:\\d{1,5}")) {
            throw new ParameterException(spec.commandLine(), option + " '" + replica + "': the address '" + address
                    + "' is not HOST:PORT (the node's --raft-listen address)");
        }
        return Peer.newBuilder().setNodeId(id).setRaftAddress(address).build();
    }

    @Command(name = "add-replica", mixinStandardHelpOptions = true, description = {
        "Add a replica of a live volume on another node, while the volume stays in use.",
        "Ask any node that holds a replica (--admin). The new node copies the volume from the leader, catches up with "
                + "the log and then votes; the command returns when that is done (watch the copy with "
                + "'ballast volume status --admin <new node>').",
        "A member whose node lost its data (wiped disk) is taken out of the group and added back the same way.",
        "Example: ballast volume add-replica --admin 127.0.0.1:7001 --name vol1 --replica n4=127.0.0.1:7104"})
    static final class AddReplica implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;
        @Option(names = "--replica", required = true, paramLabel = "NODE=HOST:PORT",
                description = "The node to add: its node id and its raft address (its --raft-listen).")
        String replica;

        @Override
        public Integer call() {
            Peer peer = parse(spec, replica, true);
            String id = parent.resolve(name);
            return parent.withAdmin(spec, ADD_DEADLINE_SECONDS, (stub, out) -> {
                AddReplicaResponse r = stub.addReplica(AddReplicaRequest.newBuilder().setName(id).setReplica(peer).build());
                out.println((r.getRejoined() ? "re-joined " : "added ") + peer.getNodeId() + " to " + name
                        + (r.getRejoined() ? " (it had lost its replica; it was rebuilt from the leader)" : ""));
                VolumeCommand.print(out, r.getVolume());
            });
        }
    }

    @Command(name = "remove-replica", mixinStandardHelpOptions = true, description = {
        "Remove a replica from a live volume's group and delete its data on that node.",
        "Ask any node that holds a replica (--admin). Refused for the last replica. If the removed node is down, "
                + "it leaves the group anyway and its data stays on its disk (reported).",
        "Example: ballast volume remove-replica --admin 127.0.0.1:7001 --name vol1 --replica n3"})
    static final class RemoveReplica implements Callable<Integer> {
        @ParentCommand VolumeCommand parent;
        @Spec CommandSpec spec;
        @Option(names = "--name", required = true, description = "Volume name.") String name;
        @Option(names = "--replica", required = true, paramLabel = "NODE[=HOST:PORT]",
                description = "The member to remove; with an address, it must be the member's.")
        String replica;

        @Override
        public Integer call() {
            Peer peer = parse(spec, replica, false);
            String id = parent.resolve(name);
            return parent.withAdmin(spec, (stub, out) -> {
                RemoveReplicaResponse r = stub.removeReplica(RemoveReplicaRequest.newBuilder().setName(id).setReplica(peer).build());
                out.println("removed " + peer.getNodeId() + " from " + name + (r.getDataDeleted()
                        ? "; its replica is deleted"
                        : "; its replica could not be deleted (" + r.getCleanupError() + "): delete it on that node"));
                if (r.hasVolume()) {
                    VolumeCommand.print(out, r.getVolume());
                }
            });
        }
    }
}

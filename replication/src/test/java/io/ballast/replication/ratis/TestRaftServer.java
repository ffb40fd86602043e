package io.ballast.replication.ratis;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.statemachine.StateMachine;

/** Real Ratis servers on free ports for the tests of in-process and group requests, and one-member groups on them. */
final class TestRaftServer {
    private TestRaftServer() {
    }

    /** Server "n0" started, its groups' directories under {@code storage}; {@code tune} changes its properties first. */
    static RaftServer start(Path storage, Consumer<RaftProperties> tune, Supplier<? extends StateMachine> machines)
            throws IOException {
        return start("n0", storage, tune, machines);
    }

    /** Server {@code id} started, as {@link #start(Path, Consumer, Supplier)}. */
    static RaftServer start(String id, Path storage, Consumer<RaftProperties> tune, Supplier<? extends StateMachine> machines)
            throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        RaftProperties p = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(p, List.of(storage.toFile()));
        GrpcConfigKeys.Server.setPort(p, port);
        tune.accept(p);
        RaftServer server = RaftServer.newBuilder().setServerId(RaftPeerId.valueOf(id)).setProperties(p)
                .setStateMachineRegistry(g -> machines.get()).build();
        server.start();
        return server;
    }

    /** A new group whose only member is {@code server}. */
    static RaftGroup oneMemberGroup(RaftServer server) {
        return RaftGroup.valueOf(RaftGroupId.randomId(), peer(server));
    }

    /** {@code server} as a group member. */
    static RaftPeer peer(RaftServer server) {
        return RaftPeer.newBuilder().setId(server.getId()).setAddress(server.getServerRpc().getInetSocketAddress()).build();
    }
}

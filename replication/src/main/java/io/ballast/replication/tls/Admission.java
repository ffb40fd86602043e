package io.ballast.replication.tls;

import io.ballast.engine.store.Durable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftConfiguration;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which nodes this node serves, by their certificates' names: the nodes the catalog admitted (as
 * its heartbeat replies last said, kept in a file so a restart serves them before the catalog
 * answers) and the catalog's own members (named by configuration: the catalog must form before
 * anything can be admitted). A Raft server request is also served from a member of the addressed
 * group's configuration, so a group never stalls on a node the catalog has not been heard about
 * yet (a follower learning of its new leader from that leader's own entries).
 *
 * <p>Threading: read on gRPC threads, updated by the catalog heartbeat; volatile snapshots.
 */
public final class Admission {
    private static final Logger LOG = LoggerFactory.getLogger(Admission.class);

    private final Path file;
    private final Supplier<Set<String>> catalogMembers;
    private volatile Set<String> admitted;
    private volatile RaftServer server;

    private Admission(Path file, Supplier<Set<String>> catalogMembers, Set<String> admitted) {
        this.file = file;
        this.catalogMembers = catalogMembers;
        this.admitted = admitted;
    }

    /** The admission kept in {@code file} (none yet: empty), with the catalog's members from {@code catalogMembers}. */
    public static Admission open(Path file, Supplier<Set<String>> catalogMembers) {
        Set<String> known = new TreeSet<>();
        try {
            if (Files.exists(file)) {
                Files.readAllLines(file).stream().map(String::strip).filter(l -> !l.isEmpty()).forEach(known::add);
            }
        } catch (IOException e) {
            LOG.warn("cannot read the admitted nodes kept in {} (the catalog's next heartbeat reply tells them): {}", file,
                    e.getMessage());
        }
        return new Admission(file, catalogMembers, Set.copyOf(known));
    }

    /** True when {@code nodeId} is admitted or a member of the catalog. */
    public boolean admitted(String nodeId) {
        return admitted.contains(nodeId) || catalogMembers.get().contains(nodeId);
    }

    /** True when {@code nodeId} is in this node's configuration of {@code group} (current or previous, any role). */
    boolean memberOf(String nodeId, RaftGroupId group) {
        RaftServer s = server;
        if (s == null) {
            return false;
        }
        try {
            RaftConfiguration conf = s.getDivision(group).getRaftConf();
            RaftPeerId id = RaftPeerId.valueOf(nodeId);
            return conf.getAllPeers(RaftPeerRole.FOLLOWER).stream().anyMatch(p -> p.getId().equals(id))
                    || conf.getAllPeers(RaftPeerRole.LISTENER).stream().anyMatch(p -> p.getId().equals(id));
        } catch (IOException e) {
            return false; // no such group here
        }
    }

    /** The catalog's word: these nodes are admitted. Kept on disk when it changed. */
    public void update(Collection<String> nodeIds) {
        Set<String> now = Set.copyOf(new TreeSet<>(nodeIds));
        if (now.equals(admitted)) {
            return;
        }
        LOG.info("admitted nodes now {} (were {})", new TreeSet<>(now), new TreeSet<>(admitted));
        admitted = now;
        try {
            Durable.writeAtomically(file, ByteBuffer.wrap((String.join("\n", new TreeSet<>(now)) + "\n").getBytes(StandardCharsets.UTF_8)));
        } catch (RuntimeException e) {
            LOG.warn("cannot keep the admitted nodes in {} (kept in memory): {}", file, e.getMessage());
        }
    }

    /** The Raft server whose groups' configurations {@link #memberOf} reads. */
    public void serve(RaftServer raftServer) {
        this.server = raftServer;
    }
}

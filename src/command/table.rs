//! The command table: every command of the grammar, once. Adding a command means adding one
//! entry here, one [`Command`](super::Command) variant and one builder in `build.rs`.

use super::build as b;
use super::spec::{Fallback, Flag, Group, Opt, Pos, Spec};
use super::value::Kind;

const HOSTS: Pos = Pos {
    key: "ip",
    placeholder: "IP",
    noun: "address",
    kind: Kind::Ip,
    min: 1,
    max: 100,
    unique: true,
    about: "host addresses, control plane first, then workers",
};

const GE: Pos = Pos {
    key: "ge",
    placeholder: "GE",
    noun: "GE name",
    kind: Kind::Label,
    min: 1,
    max: 1,
    unique: false,
    about: "the Generic Enabler, by its catalogue name (see /ge catalog), such as orion",
};

const CLUSTER_NAME: Pos = Pos {
    key: "name",
    placeholder: "NAME",
    noun: "cluster name",
    kind: Kind::Label,
    min: 1,
    max: 1,
    unique: false,
    about: "the cluster (see /cluster list)",
};

const JOB_ID: Pos = Pos {
    key: "id",
    placeholder: "ID",
    noun: "job number",
    kind: Kind::JobId,
    min: 1,
    max: 1,
    unique: false,
    about: "the job number from the bot's reply or /jobs",
};

const NS: Opt = Opt {
    key: "ns",
    placeholder: "NS",
    noun: "namespace",
    kind: Kind::Label,
    required: false,
    fallback: Fallback::Note("the room's namespace"),
    about: "Kubernetes namespace",
};

const CLUSTER: Opt = Opt {
    key: "cluster",
    placeholder: "NAME",
    noun: "cluster name",
    kind: Kind::Label,
    required: false,
    fallback: Fallback::Note("the room's current cluster (see /cluster use)"),
    about: "cluster to act on",
};

const VERSION: Opt = Opt {
    key: "version",
    placeholder: "TAG",
    noun: "version",
    kind: Kind::Tag,
    required: false,
    fallback: Fallback::Note("the catalogue's version"),
    about: "image tag to deploy",
};

const REPLICAS: Opt = Opt {
    key: "replicas",
    placeholder: "N",
    noun: "replica count",
    kind: Kind::Int { min: 0, max: 20 },
    required: false,
    fallback: Fallback::Note("the catalogue's default"),
    about: "number of pods",
};

const CLUSTER_OPTIONS: &[Opt] = &[
    Opt {
        key: "name",
        placeholder: "NAME",
        noun: "cluster name",
        kind: Kind::Label,
        required: false,
        fallback: Fallback::Note("a name chosen by the bot, shown in the reply"),
        about: "name of the new cluster",
    },
    Opt {
        key: "user",
        placeholder: "USER",
        noun: "SSH user",
        kind: Kind::User,
        required: false,
        fallback: Fallback::Note("the bot's configured SSH user"),
        about: "SSH user on the hosts (needs passwordless sudo)",
    },
    Opt {
        key: "port",
        placeholder: "PORT",
        noun: "SSH port",
        kind: Kind::Int { min: 1, max: 65535 },
        required: false,
        fallback: Fallback::Note("the bot's configured SSH port"),
        about: "SSH port on the hosts",
    },
    Opt {
        key: "k8s",
        placeholder: "MINOR",
        noun: "Kubernetes version",
        kind: Kind::K8sMinor,
        required: false,
        fallback: Fallback::Note("the bot's configured version"),
        about: "Kubernetes minor version to install",
    },
    Opt {
        key: "pod-cidr",
        placeholder: "CIDR",
        noun: "pod network",
        kind: Kind::Cidr,
        required: false,
        fallback: Fallback::Note("the bot's configured pod network"),
        about: "address range for pods; must not overlap the hosts' network",
    },
];

const SCOPE: &[Opt] = &[NS, CLUSTER];

const ROLLBACK_OPTIONS: &[Opt] = &[
    NS,
    CLUSTER,
    Opt {
        key: "to",
        placeholder: "REVISION",
        noun: "revision",
        kind: Kind::Int {
            min: 1,
            max: 1_000_000,
        },
        required: false,
        fallback: Fallback::Note("the revision before the current one"),
        about: "revision to return to (see /ge history)",
    },
];

const ROLLBACK_DETAILS: &str = "Returns an installed Generic Enabler to an earlier revision of \
its release: the previous one, or the one given with to= (/ge history lists them). Runs as a job.";

/// Every command, in the order `/help` lists them.
pub(crate) static SPECS: &[Spec] = &[
    Spec {
        path: "cluster create",
        aliases: &[],
        group: Group::Clusters,
        summary: "install Kubernetes on lab hosts",
        details: "Connects to every host over SSH, checks it and installs Kubernetes: the first \
            address becomes the control plane, the others workers. Runs as a job; follow it with \
            /job ID. With dry-run the bot only connects and checks the hosts, changing nothing.",
        positionals: &[HOSTS],
        options: CLUSTER_OPTIONS,
        flags: &[Flag {
            word: "dry-run",
            about: "only connect to and check the hosts",
        }],
        examples: &[
            "/cluster create 10.0.0.11 10.0.0.12 10.0.0.13 name=lab-1",
            "/cluster create 10.0.0.11 user=ubuntu k8s=1.31 dry-run",
        ],
        mutating: true,
        build: b::cluster_create,
    },
    Spec {
        path: "cluster plan",
        aliases: &[],
        group: Group::Clusters,
        summary: "show what /cluster create would do, without installing",
        details: "Connects to the hosts, checks them and shows the installation plan: roles, \
            versions and the steps /cluster create would run. Installs nothing.",
        positionals: &[HOSTS],
        options: CLUSTER_OPTIONS,
        flags: &[],
        examples: &["/cluster plan 10.0.0.11 10.0.0.12 name=lab-1"],
        mutating: true,
        build: b::cluster_plan,
    },
    Spec {
        path: "cluster list",
        aliases: &[],
        group: Group::Clusters,
        summary: "list the clusters the bot manages",
        details: "Lists every cluster with its control plane, node count and state, and marks \
            the room's current cluster.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/cluster list"],
        mutating: false,
        build: b::cluster_list,
    },
    Spec {
        path: "cluster status",
        aliases: &[],
        group: Group::Clusters,
        summary: "show the nodes and health of a cluster",
        details: "Shows the nodes, their versions and readiness, and the installed Generic \
            Enablers of a cluster. Without NAME: the room's current cluster.",
        positionals: &[Pos {
            min: 0,
            ..CLUSTER_NAME
        }],
        options: &[],
        flags: &[],
        examples: &["/cluster status", "/cluster status lab-1"],
        mutating: false,
        build: b::cluster_status,
    },
    Spec {
        path: "cluster use",
        aliases: &[],
        group: Group::Clusters,
        summary: "make a cluster the room's current one",
        details: "Commands in this room that take cluster= act on this cluster when cluster= \
            is not given.",
        positionals: &[CLUSTER_NAME],
        options: &[],
        flags: &[],
        examples: &["/cluster use lab-1"],
        mutating: true,
        build: b::cluster_use,
    },
    Spec {
        path: "cluster delete",
        aliases: &[],
        group: Group::Clusters,
        summary: "tear down a cluster (asks for confirmation)",
        details: "Without confirm= the bot replies with what would be deleted and a \
            confirmation code; send the command again with confirm=CODE to go ahead. The hosts \
            are reset and the cluster is forgotten. This cannot be undone.",
        positionals: &[CLUSTER_NAME],
        options: &[Opt {
            key: "confirm",
            placeholder: "CODE",
            noun: "confirmation code",
            kind: Kind::Code,
            required: false,
            fallback: Fallback::Note("none; the bot asks for confirmation"),
            about: "the code from the bot's confirmation request",
        }],
        flags: &[],
        examples: &[
            "/cluster delete lab-1",
            "/cluster delete lab-1 confirm=k3x9p2",
        ],
        mutating: true,
        build: b::cluster_delete,
    },
    Spec {
        path: "host forget",
        aliases: &[],
        group: Group::Clusters,
        summary: "forget a host's pinned SSH key",
        details: "The bot pins each host's SSH key on first contact and refuses a host whose key \
            changed. After reinstalling a host, forget its key so it can be pinned again.",
        positionals: &[Pos {
            key: "ip",
            placeholder: "IP",
            noun: "address",
            kind: Kind::Ip,
            min: 1,
            max: 1,
            unique: false,
            about: "the host whose key to forget",
        }],
        options: &[],
        flags: &[],
        examples: &["/host forget 10.0.0.12"],
        mutating: true,
        build: b::host_forget,
    },
    Spec {
        path: "ge catalog",
        aliases: &[],
        group: Group::Enablers,
        summary: "list the Generic Enablers that can be installed",
        details: "Lists the catalogue: each Generic Enabler's name (the GE in other commands), \
            its default version and what it needs.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/ge catalog"],
        mutating: false,
        build: b::ge_catalog,
    },
    Spec {
        path: "ge install",
        aliases: &[],
        group: Group::Enablers,
        summary: "install a Generic Enabler",
        details: "Installs a Generic Enabler from the catalogue into a namespace of a cluster. \
            Runs as a job. With expose=nodeport its service is reachable on every node's address.",
        positionals: &[GE],
        options: &[
            NS,
            VERSION,
            REPLICAS,
            CLUSTER,
            Opt {
                key: "expose",
                placeholder: "nodeport",
                noun: "exposure",
                kind: Kind::Keyword("nodeport"),
                required: false,
                fallback: Fallback::Note("reachable inside the cluster only"),
                about: "make the service reachable from outside the cluster",
            },
        ],
        flags: &[],
        examples: &[
            "/ge install orion",
            "/ge install orion ns=demo version=4.1.0 replicas=2",
        ],
        mutating: true,
        build: b::ge_install,
    },
    Spec {
        path: "ge upgrade",
        aliases: &[],
        group: Group::Enablers,
        summary: "move an installed Generic Enabler to another version",
        details: "Upgrades (or downgrades) an installed Generic Enabler to the given image tag, \
            keeping its settings and data. Runs as a job; /rollback undoes it.",
        positionals: &[GE],
        options: &[
            Opt {
                required: true,
                fallback: Fallback::Nothing,
                ..VERSION
            },
            NS,
            CLUSTER,
        ],
        flags: &[],
        examples: &["/ge upgrade orion version=4.1.1"],
        mutating: true,
        build: b::ge_upgrade,
    },
    Spec {
        path: "ge scale",
        aliases: &[],
        group: Group::Enablers,
        summary: "change the number of pods of a Generic Enabler",
        details: "Sets the replica count of an installed Generic Enabler; 0 stops it while \
            keeping its data.",
        positionals: &[GE],
        options: &[
            Opt {
                required: true,
                fallback: Fallback::Nothing,
                ..REPLICAS
            },
            NS,
            CLUSTER,
        ],
        flags: &[],
        examples: &["/ge scale orion replicas=3"],
        mutating: true,
        build: b::ge_scale,
    },
    Spec {
        path: "ge status",
        aliases: &[],
        group: Group::Enablers,
        summary: "show the state of an installed Generic Enabler",
        details: "Shows the version, revision, pods and their readiness, and the service \
            addresses of an installed Generic Enabler.",
        positionals: &[GE],
        options: SCOPE,
        flags: &[],
        examples: &["/ge status orion", "/ge status orion ns=demo cluster=lab-1"],
        mutating: false,
        build: b::ge_status,
    },
    Spec {
        path: "ge list",
        aliases: &[],
        group: Group::Enablers,
        summary: "list the installed Generic Enablers",
        details: "Lists the Generic Enablers installed in a namespace (with ns=), or in every \
            namespace of the cluster, with version, revision and state.",
        positionals: &[],
        options: SCOPE,
        flags: &[],
        examples: &["/ge list", "/ge list ns=demo"],
        mutating: false,
        build: b::ge_list,
    },
    Spec {
        path: "ge history",
        aliases: &[],
        group: Group::Enablers,
        summary: "list the revisions of an installed Generic Enabler",
        details: "Lists the revisions of a Generic Enabler's release (install, upgrades, \
            rollbacks) with their versions; a revision number can be given to /rollback to=.",
        positionals: &[GE],
        options: SCOPE,
        flags: &[],
        examples: &["/ge history orion"],
        mutating: false,
        build: b::ge_history,
    },
    Spec {
        path: "ge uninstall",
        aliases: &[],
        group: Group::Enablers,
        summary: "remove an installed Generic Enabler",
        details: "Removes a Generic Enabler from its namespace. Its persistent volumes (its data) \
            are kept unless purge is given. Runs as a job.",
        positionals: &[GE],
        options: SCOPE,
        flags: &[Flag {
            word: "purge",
            about: "also delete its persistent volumes (its data)",
        }],
        examples: &["/ge uninstall orion", "/ge uninstall orion ns=demo purge"],
        mutating: true,
        build: b::ge_uninstall,
    },
    Spec {
        path: "rollback",
        aliases: &["ge rollback"],
        group: Group::Enablers,
        summary: "return a Generic Enabler to an earlier revision",
        details: ROLLBACK_DETAILS,
        positionals: &[GE],
        options: ROLLBACK_OPTIONS,
        flags: &[],
        examples: &["/rollback orion", "/ge rollback orion to=3"],
        mutating: true,
        build: b::rollback,
    },
    Spec {
        path: "jobs",
        aliases: &[],
        group: Group::Jobs,
        summary: "list running and queued jobs",
        details: "Lists the jobs that are queued or running, with their numbers; with all, the \
            recently finished ones too.",
        positionals: &[],
        options: &[],
        flags: &[Flag {
            word: "all",
            about: "include finished jobs",
        }],
        examples: &["/jobs", "/jobs all"],
        mutating: false,
        build: b::jobs,
    },
    Spec {
        path: "job",
        aliases: &[],
        group: Group::Jobs,
        summary: "show the progress or result of a job",
        details: "Shows a job's steps, progress and, once finished, its result or error.",
        positionals: &[JOB_ID],
        options: &[],
        flags: &[],
        examples: &["/job 42", "/job #42"],
        mutating: false,
        build: b::job,
    },
    Spec {
        path: "cancel",
        aliases: &[],
        group: Group::Jobs,
        summary: "cancel a queued or running job",
        details: "Stops a job at its next safe point; steps already done are not undone.",
        positionals: &[JOB_ID],
        options: &[],
        flags: &[],
        examples: &["/cancel 42"],
        mutating: true,
        build: b::cancel,
    },
    Spec {
        path: "whoami",
        aliases: &[],
        group: Group::General,
        summary: "show who the bot takes you for and what you may do",
        details: "Shows your chat identity as the bot sees it and the role it grants you.",
        positionals: &[],
        options: &[],
        flags: &[],
        examples: &["/whoami"],
        mutating: false,
        build: b::whoami,
    },
    Spec {
        path: "audit",
        aliases: &[],
        group: Group::General,
        summary: "show the latest entries of the audit log",
        details: "Shows who ran which command when, newest first; secrets are masked.",
        positionals: &[Pos {
            key: "n",
            placeholder: "N",
            noun: "entry count",
            kind: Kind::Int { min: 1, max: 100 },
            min: 0,
            max: 1,
            unique: false,
            about: "how many entries (default 20)",
        }],
        options: &[],
        flags: &[],
        examples: &["/audit", "/audit 50"],
        mutating: false,
        build: b::audit,
    },
    Spec {
        path: "selftest",
        aliases: &[],
        group: Group::General,
        summary: "run a harmless test job (admin check)",
        details: "Runs a job of N steps of M milliseconds each that touches nothing remote: a \
            check that jobs, progress messages and /cancel work.",
        positionals: &[],
        options: &[
            Opt {
                key: "steps",
                placeholder: "N",
                noun: "step count",
                kind: Kind::Int { min: 1, max: 50 },
                required: false,
                fallback: Fallback::Value("3"),
                about: "number of steps",
            },
            Opt {
                key: "ms",
                placeholder: "M",
                noun: "step duration",
                kind: Kind::Int {
                    min: 0,
                    max: 60_000,
                },
                required: false,
                fallback: Fallback::Value("1000"),
                about: "milliseconds per step",
            },
        ],
        flags: &[],
        examples: &["/selftest", "/selftest steps=10 ms=200"],
        mutating: true,
        build: b::selftest,
    },
    Spec {
        path: "help",
        aliases: &[],
        group: Group::General,
        summary: "list the commands, or explain one",
        details: "Without words: every command with a one-line summary. With command words, such \
            as /help cluster create: that command's arguments, options and examples.",
        positionals: &[Pos {
            key: "topic",
            placeholder: "COMMAND",
            noun: "help topic",
            kind: Kind::Topic,
            min: 0,
            max: 2,
            unique: false,
            about: "command words, such as cluster create",
        }],
        options: &[],
        flags: &[],
        examples: &["/help", "/help ge install"],
        mutating: false,
        build: b::help,
    },
];

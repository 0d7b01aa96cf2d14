# bash completion for brook(1).
#
# Commands and their options from a table; topic and group names are asked of the
# brokers (the -b given on the line, else $BROOK_BROKERS) with a short timeout, so
# completion never hangs on an unreachable broker.

_brook_brokers() {
    local i
    for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
        if [[ ${COMP_WORDS[i]} == -b ]]; then
            printf '%s' "${COMP_WORDS[i + 1]}"
            return
        fi
    done
    printf '%s' "${BROOK_BROKERS:-localhost:9092}"
}

_brook_names() { # topic | group
    local b
    b=$(_brook_brokers)
    if [[ $1 == topic ]]; then
        brook -b "$b" --timeout 2000 topic list 2>/dev/null | cut -f1
    else
        brook -b "$b" --timeout 2000 group list 2>/dev/null | cut -f1
    fi
}

_brook() {
    local cur prev cmd='' sub='' i
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local global="-b -X -F --timeout --help --version"

    # the command and subcommand, skipping global options and their arguments
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -b | -X | -F | --timeout | --password | --mechanism | --iterations) ((i++)) ;;
        -*) ;;
        *)
            if [[ -z $cmd ]]; then
                cmd=${COMP_WORDS[i]}
            elif [[ -z $sub && ($cmd == topic || $cmd == group || $cmd == user || $cmd == acl) ]]; then
                sub=${COMP_WORDS[i]}
            fi
            ;;
        esac
    done

    case $prev in
    -b | --timeout | -k | -K | -H | -c | -r | -f | --password | --iterations) return ;;
    -F)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --mechanism)
        COMPREPLY=($(compgen -W "SCRAM-SHA-256 SCRAM-SHA-512" -- "$cur"))
        return
        ;;
    -X)
        COMPREPLY=($(compgen -S = -W "acks linger.ms batch.size compression.type
            enable.idempotence retries delivery.timeout.ms buffer.memory max.request.size
            client.id request.timeout.ms session.timeout.ms heartbeat.interval.ms
            partition.assignment.strategy auto.offset.reset fetch.max.wait.ms
            max.partition.fetch.bytes check.crcs socket.connection.setup.timeout.ms
            security.protocol ssl.ca.location ssl.certificate.location ssl.key.location
            ssl.key.password enable.ssl.certificate.verification
            ssl.endpoint.identification.algorithm sasl.mechanism sasl.username
            sasl.password" -- "$cur"))
        compopt -o nospace 2>/dev/null
        return
        ;;
    -z)
        COMPREPLY=($(compgen -W "none gzip snappy lz4 zstd" -- "$cur"))
        return
        ;;
    -o)
        COMPREPLY=($(compgen -W "beginning end" -- "$cur"))
        return
        ;;
    -g)
        COMPREPLY=($(compgen -W "$(_brook_names group)" -- "$cur"))
        return
        ;;
    -t)
        COMPREPLY=($(compgen -W "$(_brook_names topic)" -- "$cur"))
        return
        ;;
    esac

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "topic produce consume group acl metadata mount user help $global" -- "$cur"))
        return
    fi
    case $cmd in
    topic | topics)
        if [[ -z $sub ]]; then
            COMPREPLY=($(compgen -W "list describe create delete" -- "$cur"))
        elif [[ $cur == -* ]]; then
            case $sub in
            list) COMPREPLY=($(compgen -W "-a $global" -- "$cur")) ;;
            create) COMPREPLY=($(compgen -W "-p -r -c $global" -- "$cur")) ;;
            *) COMPREPLY=($(compgen -W "$global" -- "$cur")) ;;
            esac
        elif [[ $sub == describe || $sub == delete ]]; then
            COMPREPLY=($(compgen -W "$(_brook_names topic)" -- "$cur"))
        fi
        ;;
    group | groups)
        if [[ -z $sub ]]; then
            COMPREPLY=($(compgen -W "list describe seek delete" -- "$cur"))
        elif [[ $cur == -* ]]; then
            [[ $sub == seek ]] && COMPREPLY=($(compgen -W "-o -t -p $global" -- "$cur"))
        elif [[ $sub != list ]]; then
            COMPREPLY=($(compgen -W "$(_brook_names group)" -- "$cur"))
        fi
        ;;
    acl | acls)
        if [[ -z $sub ]]; then
            COMPREPLY=($(compgen -W "list create delete" -- "$cur"))
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--topic --group --transactional-id --cluster
                --allow-principal --deny-principal --principal --host --operation
                --resource-pattern-type $global" -- "$cur"))
        fi
        ;;
    produce)
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "-k -K -H -p -z -Z -v --transactional-id $global" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_brook_names topic)" -- "$cur"))
        fi
        ;;
    consume)
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "-g -p -o -c -e -f -J --isolation $global" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_brook_names topic)" -- "$cur"))
        fi
        ;;
    metadata) COMPREPLY=($(compgen -W "$global" -- "$cur")) ;;
    user | users)
        if [[ -z $sub ]]; then
            COMPREPLY=($(compgen -W "list create delete" -- "$cur"))
        elif [[ $cur == -* ]]; then
            case $sub in
            create) COMPREPLY=($(compgen -W "--password --mechanism --iterations $global" -- "$cur")) ;;
            delete) COMPREPLY=($(compgen -W "--mechanism $global" -- "$cur")) ;;
            *) COMPREPLY=($(compgen -W "$global" -- "$cur")) ;;
            esac
        fi
        ;;
    esac
}

complete -F _brook brook

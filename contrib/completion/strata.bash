# bash completion for strata(1). The verbs and each verb's options are read
# from `strata --help` and `strata VERB --help`, so they never go stale.
_strata_words() {
    # _strata_words ARGS...: the commands and --options of `strata ARGS... --help`
    "${COMP_WORDS[0]}" "$@" --help 2>/dev/null | awk '
        /^Commands:/ { cmds = 1; next }
        cmds && NF == 0 { cmds = 0 }
        cmds { print $1; next }
        { for (i = 1; i <= NF; i++) if ($i ~ /^--[a-z]/) { w = $i; sub(/[,=\[].*/, "", w); print w } }'
}

_strata() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local verb= sub= i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        --root | --log-level) ((i++)) ;;
        -*) ;;
        *) if [[ -z $verb ]]; then verb=${COMP_WORDS[i]}; elif [[ ($verb == registry || $verb == cache) && -z $sub ]]; then sub=${COMP_WORDS[i]}; fi ;;
        esac
    done
    case $prev in
    -f | --file | --iidfile | -o | --output | -i | --input | --root | --tls-ca | --htpasswd | --secret)
        COMPREPLY=($(compgen -f -- "$cur"))
        return ;;
    --log-level)
        COMPREPLY=($(compgen -W "error warn info debug" -- "$cur"))
        return ;;
    --progress)
        COMPREPLY=($(compgen -W "auto plain tty" -- "$cur"))
        return ;;
    --network)
        COMPREPLY=($(compgen -W "host none" -- "$cur"))
        return ;;
    esac
    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "$(_strata_words)" -- "$cur"))
    elif [[ ($verb == registry || $verb == cache) && -z $sub && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$(_strata_words $verb)" -- "$cur"))
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_strata_words $verb $sub)" -- "$cur"))
    else
        case $verb in
        run | push | rmi | tag | inspect | save)
            COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" images 2>/dev/null | awk 'NR > 1 && $2 != "<none>" { print $1 ":" $2 }')" -- "$cur")) ;;
        esac
        [[ ${#COMPREPLY[@]} -gt 0 ]] || COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -F _strata strata

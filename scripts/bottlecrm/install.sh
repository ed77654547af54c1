#!/usr/bin/env bash
# Installs django-crm (BottleCRM) and gunicorn into their own Python 3.12 virtualenv,
# pinned by constraints.txt. A second run with an unchanged constraints file does nothing.
#   install.sh             install (or reuse) the virtualenv
#   install.sh --refreeze  install the newest dependencies and rewrite constraints.txt
set -euo pipefail
source "$(dirname "$0")/env.sh"

# django-crm 1.35.0 needs Python 3.12 exactly (its wheel says >=3.12; Django 6.1 too).
is_312() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; }

find_python() {
	local candidate
	if [ -n "${BOTTLECRM_PYTHON:-}" ]; then
		echo "$BOTTLECRM_PYTHON"
		return 0
	fi
	# pyenv's shim for python3.12 exists but fails unless 3.12 is selected: try the
	# interpreters themselves.
	for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | sort -V -r) \
		/usr/local/bin/python3.12 /usr/bin/python3.12 "$(command -v python3.12 2>/dev/null || true)"; do
		if is_312 "$candidate"; then
			echo "$candidate"
			return 0
		fi
	done
	return 1
}

refreeze=0
[ "${1:-}" = "--refreeze" ] && refreeze=1

stamp="$BOTTLECRM_VENV/.constraints.sha256"
wanted="$(sha256sum "$BOTTLECRM_CONSTRAINTS" | cut -d' ' -f1)"
if [ "$refreeze" = 0 ] && [ -x "$BOTTLECRM_VENV/bin/gunicorn" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
	exit 0
fi

python="$(find_python)" || bottlecrm_die "Python 3.12 not found (BottleCRM needs it). Install it with pyenv (pyenv install 3.12) or set BOTTLECRM_PYTHON=/path/to/python3.12."
is_312 "$python" ||
	bottlecrm_die "$python is not Python 3.12"

mkdir -p "$BOTTLECRM_HOME"
if ! is_312 "$BOTTLECRM_VENV/bin/python"; then
	rm -rf "$BOTTLECRM_VENV"
	bottlecrm_say "creating the virtualenv with $python"
	"$python" -m venv "$BOTTLECRM_VENV"
fi
rm -f "$stamp"
if [ "$refreeze" = 1 ]; then
	"$BOTTLECRM_VENV/bin/pip" install --quiet "django-crm==$BOTTLECRM_VERSION" gunicorn
	{
		sed -n '1,/^[^#]/{/^#/p}' "$BOTTLECRM_CONSTRAINTS"
		"$BOTTLECRM_VENV/bin/pip" freeze --exclude-editable
	} >"$BOTTLECRM_CONSTRAINTS.new"
	mv "$BOTTLECRM_CONSTRAINTS.new" "$BOTTLECRM_CONSTRAINTS"
	wanted="$(sha256sum "$BOTTLECRM_CONSTRAINTS" | cut -d' ' -f1)"
else
	bottlecrm_say "installing django-crm==$BOTTLECRM_VERSION with pinned dependencies"
	"$BOTTLECRM_VENV/bin/pip" install --quiet --disable-pip-version-check \
		-c "$BOTTLECRM_CONSTRAINTS" "django-crm==$BOTTLECRM_VERSION" gunicorn
fi
echo "$wanted" >"$stamp"

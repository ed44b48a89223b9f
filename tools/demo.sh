#!/usr/bin/env bash
# The main job end to end, on the embedded default (SQLite files in a temporary folder):
# an operator creates the county from demo data, two cadre laptops log visits and demands
# offline (including a concurrent edit of the same demand), they exchange bundles as on a USB
# stick, and the merged ledger, the conflict and a record's signed history are printed.
set -euo pipefail
BIN=${1:-.build/debug/fieldlog}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DATA=$(cd "$(dirname "$0")/demo-data" && pwd)
WORK=${DEMO_DIR:-$(mktemp -d /tmp/fieldlog-demo.XXXXXX)}
mkdir -p "$WORK"
export FIELDLOG_PASSPHRASE=${FIELDLOG_PASSPHRASE:-"demo passphrase 演示口令"}
OP="$WORK/operator"; A="$WORK/laptop-wang"; B="$WORK/laptop-li"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fl() { local home=$1; shift; FIELDLOG_HOME="$home" "$BIN" "$@"; }
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

step "Operator: create the county of 高唐县 and its root key"
fl "$OP" init --json >/dev/null
fl "$OP" county create --name 高唐县
ROOT_FP=$(fl "$OP" status --json | json_field rootFingerprint)

step "Operator: import the registry from CSV (Chinese headers)"
for kind in departments cadres enterprises linkages; do
    fl "$OP" registry import "$kind" "$DATA/$kind.csv"
done

step "The registry is corrected, never deleted: the master file again, a dry run first, then a 简称"
sed 's/13805390001/13905390001/' "$DATA/enterprises.csv" > "$WORK/enterprises-2.csv"
fl "$OP" registry import enterprises "$WORK/enterprises-2.csv" --dry-run
fl "$OP" registry import enterprises "$WORK/enterprises-2.csv"
fl "$OP" registry update enterprise 山东高唐纺织有限公司 --set 简称=高唐纺织
fl "$OP" registry list enterprises | head -2

step "Two cadres create their laptop keys; the operator enrolls them"
KEY_A=$(fl "$A" init --json | json_field publicKey)
KEY_B=$(fl "$B" init --json | json_field publicKey)
fl "$OP" registry enroll --key "$KEY_A" --role cadre --cadre 王强 --label "王强的笔记本"
fl "$OP" registry enroll --key "$KEY_B" --role cadre --cadre 李娜 --label "李娜的笔记本"
fl "$OP" registry export-enrollment --out "$WORK/enrollment.bundle"

step "The laptops join, checking the county root fingerprint ($ROOT_FP)"
fl "$A" join "$WORK/enrollment.bundle" --root-fingerprint "$ROOT_FP"
fl "$B" join "$WORK/enrollment.bundle" --root-fingerprint "$ROOT_FP"

step "Offline, on the Enterprise Service Day: 王强 visits 山东高唐纺织有限公司 and logs two demands"
VISIT=$(fl "$A" visit add --enterprise 山东高唐纺织有限公司 --service-day --participants "王强, 县人社局 赵雪" \
    --topics "用工, 电力增容" --notes "订单饱满, 二季度产能利用率约九成" --json | json_field handle)
echo "logged visit $VISIT (its handle: the demands below name the visit by it)"
D1=$(fl "$A" demand add --enterprise 山东高唐纺织有限公司 --visit "$VISIT" --title "熟练挡车工招聘难" \
    --content "新上两条生产线, 急需熟练挡车工50名, 希望协助组织专场招聘会" --category 用工 --urgency 紧急 \
    --expected "一个月内到岗30人以上" --json | json_field number)
D2=$(fl "$A" demand add --enterprise 山东高唐纺织有限公司 --visit "$VISIT" --title "厂区变压器增容" \
    --content "新增设备用电负荷约800千伏安, 现有变压器容量不足" --category 水电气热 --json | json_field number)
echo "registered $D1 and $D2"

step "李娜 (assisting cadre) visits 高唐县金源机械制造有限公司 and logs a demand"
fl "$B" visit add --enterprise 高唐县金源机械制造有限公司 --mode 座谈 --topics "融资" --json >/dev/null
fl "$B" demand add --enterprise 高唐县金源机械制造有限公司 --title "技改贷款贴息" \
    --content "设备更新贷款300万元, 咨询技改贴息政策及申报时限" --type 政策咨询 --category 政策兑现

step "USB stick: 王强's laptop → 李娜's laptop (a bundle carries only what its recipient may read)"
fl "$A" bundle export --out "$WORK/wang.bundle" --for 李娜
fl "$B" bundle import "$WORK/wang.bundle"

step "Both edit the same demand while offline (a concurrent edit)"
fl "$A" demand edit "$D1" --title "熟练挡车工招聘难（50名）" --comment "补充人数"
fl "$B" demand edit "$D1" --title "纺织企业用工缺口" --urgency 特急 --comment "协包领导核实后调整"

step "They exchange bundles both ways, and bring them to the operator"
fl "$A" bundle export --out "$WORK/wang.bundle" --for 李娜
fl "$B" bundle export --out "$WORK/li.bundle" --for 王强
fl "$A" bundle import "$WORK/li.bundle"
fl "$B" bundle import "$WORK/wang.bundle"
fl "$A" demand list --json | python3 -c "
import json, sys
demands = json.load(sys.stdin)
if any('金源' in json.dumps(d, ensure_ascii=False) for d in demands):
    sys.exit('王强 holds a demand of 金源机械, an enterprise he is not linked to')
print(f'王强 holds {len(demands)} demands: 李娜\'s demand at 金源机械 stayed with her, he is not linked to it')"
echo "(bundles for the operator, named by the county root fingerprint:)"
fl "$A" bundle export --out "$WORK/wang-op.bundle" --for "$ROOT_FP"
fl "$B" bundle export --out "$WORK/li-op.bundle" --for "$ROOT_FP"
fl "$OP" bundle import "$WORK/wang-op.bundle"
fl "$OP" bundle import "$WORK/li-op.bundle"
echo "(importing the same bundle again changes nothing:)"
fl "$OP" bundle import "$WORK/li-op.bundle"

step "The merged ledger, as the operator sees it"
fl "$OP" demand list
fl "$OP" visit list

step "The conflict: both titles are kept, one is shown, nothing is lost"
fl "$OP" conflicts

step "The signed history of $D1"
fl "$OP" history "$D1"
fl "$OP" demand show "$D1"

step "王强 settles the conflict by keeping 李娜's title; everyone converges"
PICK=$(fl "$A" conflicts --json | python3 -c "
import json,sys
heads=json.load(sys.stdin)[0]['heads']
print(1+[h['value'] for h in heads].index('纺织企业用工缺口'))")
fl "$A" conflicts resolve --row "$D1" --column title --pick "$PICK"
fl "$A" bundle export --out "$WORK/wang.bundle" --for 李娜
fl "$A" bundle export --out "$WORK/wang-op.bundle" --for "$ROOT_FP"
fl "$B" bundle import "$WORK/wang.bundle"
fl "$OP" bundle import "$WORK/wang-op.bundle"
fl "$OP" conflicts

step "Every replica shows the same digest for the enterprise's scope"
for home in "$OP" "$A" "$B"; do
    fl "$home" status --json | python3 -c "
import json,sys
s=json.load(sys.stdin)
scopes={k:v[:16] for k,v in s['digests'].items() if k.startswith('ent:')}
print(s['role'] or '-', sorted(scopes.items()))"
done
python3 - "$OP" "$A" "$B" "$BIN" <<'PY'
import json, os, subprocess, sys
*homes, binary = sys.argv[1:]
digests = []
for home in homes:
    out = subprocess.run([binary, "status", "--json"], env={**os.environ, "FIELDLOG_HOME": home}, capture_output=True, check=True).stdout
    digests.append(json.loads(out)["digests"])
common = set.intersection(*(set(d) for d in digests))
bad = [s for s in common if len({d[s] for d in digests}) != 1]
if bad:
    sys.exit(f"DIVERGED in scopes {bad}")
print(f"converged: {len(common)} scopes identical on all {len(homes)} replicas")
PY
step "Now with the network: the operator's replica serves as the county hub on loopback"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
# Prints the URL a background `hub serve` / `serve` announces on its first line.
wait_for_url() {
    local file=$1
    for _ in $(seq 1 300); do
        if grep -q "listening on" "$file" 2>/dev/null; then awk '/listening on/ {print $NF; exit}' "$file"; return 0; fi
        sleep 0.1
    done
    echo "the server did not start; see $file" >&2; return 1
}
FIELDLOG_HOME="$OP" FIELDLOG_LOG_LEVEL=warning "$BIN" hub serve --port 0 > "$WORK/hub.out" 2> "$WORK/hub.log" &
PIDS+=($!)
HUB=$(wait_for_url "$WORK/hub.out")
echo "hub at $HUB"

step "A supervisor's laptop enrolls over the network with a one-time code"
SUP="$WORK/laptop-supervisor"
fl "$SUP" init --json >/dev/null
CODE=$(fl "$OP" hub enroll-code --role supervisor --label "督查室" --json | json_field code)
fl "$SUP" enroll --hub "$HUB" --code "$CODE" --root-fingerprint "$ROOT_FP"
echo "(the same code a second time is refused:)"
SUP2="$WORK/laptop-other"; fl "$SUP2" init --json >/dev/null
fl "$SUP2" enroll --hub "$HUB" --code "$CODE" || true

step "Offline again: both cadres log visits; then 李娜's laptop serves 王强's directly, with no hub"
fl "$A" visit add --enterprise 高唐县鑫盛食品有限公司 --mode 电话 --topics "冷库用地" --json >/dev/null
fl "$B" visit add --enterprise 山东高唐纺织有限公司 --topics "回访用工诉求" --json >/dev/null
FIELDLOG_HOME="$B" FIELDLOG_LOG_LEVEL=warning "$BIN" serve --port 0 > "$WORK/peer.out" 2> "$WORK/peer.log" &
PIDS+=($!)
PEER=$(wait_for_url "$WORK/peer.out")
fl "$A" sync --peer "$PEER"

step "Everyone syncs with the hub (signed HTTP, RFC 9421)"
fl "$A" sync --hub "$HUB"
fl "$B" sync --hub "$HUB"
fl "$A" sync --hub "$HUB"
fl "$SUP" sync --hub "$HUB"
echo "(a sync with nothing new:)"
fl "$SUP" sync --hub "$HUB"

step "The supervisor sees every demand and visit"
fl "$SUP" demand list
fl "$SUP" visit list

step "Every replica holds the same data for the scopes it may see"
python3 - "$BIN" "$OP" "$A" "$B" "$SUP" <<'PY'
import json, os, subprocess, sys
binary, *homes = sys.argv[1:]
digests = {}
for home in homes:
    out = subprocess.run([binary, "status", "--json"], env={**os.environ, "FIELDLOG_HOME": home}, capture_output=True, check=True).stdout
    status = json.loads(out)
    digests[os.path.basename(home)] = status["digests"]
bad = []
for scope in set().union(*[set(d) for d in digests.values()]):
    values = {name: d[scope] for name, d in digests.items() if scope in d}
    if len(set(values.values())) != 1:
        bad.append(scope)
    print(f"{scope[:44]:44}  held by {len(values)} replicas, {'identical' if len(set(values.values())) == 1 else 'DIFFERENT'}")
if bad:
    sys.exit(f"DIVERGED in {bad}")
print("converged: every scope is identical on every replica that holds it")
PY
step "The demand workflow: a coordinator and two departments enroll with one-time codes"
COORD="$WORK/laptop-coordinator"; MARKET="$WORK/laptop-market"; HR="$WORK/laptop-hr"
for who in COORD MARKET HR; do fl "${!who}" init --json >/dev/null; done
code() { fl "$OP" hub enroll-code "$@" --json | json_field code; }
fl "$COORD" enroll --hub "$HUB" --code "$(code --role coordinator --label 县营商办)" --root-fingerprint "$ROOT_FP"
fl "$MARKET" enroll --hub "$HUB" --code "$(code --role department --department 县市场监管局)" --root-fingerprint "$ROOT_FP"
fl "$HR" enroll --hub "$HUB" --code "$(code --role department --department 县人力资源社会保障局)" --root-fingerprint "$ROOT_FP"
sync() { for home in "$@"; do fl "$home" sync --hub "$HUB" >/dev/null; done; }

step "王强 submits both demands; the coordinator assigns them, and so does the operator, at the same time"
fl "$A" demand submit "$D1"
fl "$A" demand submit "$D2"
sync "$A" "$COORD"
fl "$COORD" demand assign "$D1" --lead 县市场监管局 --co 县人力资源社会保障局
fl "$OP" demand assign "$D2" --lead 县住房城乡建设局
fl "$COORD" demand assign "$D2" --lead 县自然资源和规划局
sync "$COORD"
fl "$COORD" demand show "$D2"

step "The coordinator settles the workflow conflict, naming the branch to keep by its handle"
KEEP=$(fl "$COORD" demand show "$D2" --json | python3 -c "
import json, sys
shown = json.load(sys.stdin)
branches = set(shown['workflowConflicts'][0])
print(next(e['handle'] for e in shown['events'] if e['id'] in branches and 'root' in e['actor']))")
fl "$COORD" demand settle "$D2" --keep "$KEEP" --comment "变压器增容由住建局牵头"
sync "$COORD" "$MARKET" "$HR"

step "县市场监管局 says it is not theirs; the coordinator reassigns it to 县人力资源社会保障局"
fl "$MARKET" demand return "$D1" --suggest 县人力资源社会保障局 --comment "招聘服务属人社部门职责"
echo "(县人力资源社会保障局, only a co-department so far, may not sign it:)"
fl "$HR" demand sign "$D1" || true
sync "$MARKET" "$COORD"
fl "$COORD" demand reassign "$D1" --lead 县人力资源社会保障局 --comment "由人社局牵头组织专场招聘"
sync "$COORD" "$HR"

step "县人力资源社会保障局 signs, contacts the enterprise, and asks for an extension; the coordinator approves"
fl "$HR" demand sign "$D1" --contacted "$(date -u -d '+8 hours' '+%Y-%m-%d %H:%M')"
fl "$HR" demand extend "$D1" --days 5 --comment "专场招聘会需在下月举办"
sync "$HR" "$COORD"
fl "$COORD" demand extend "$D1" --comment "同意延期"
sync "$COORD" "$HR"

step "The reply, accepted; 王强 follows up with the enterprise"
fl "$HR" demand reply "$D1" --outcome "已举办专场招聘会, 到岗32人" --reply "组织纺织专场招聘会两场, 企业招到熟练工32名"
sync "$HR" "$COORD"
fl "$COORD" demand accept-reply "$D1"
sync "$COORD" "$A"
fl "$A" demand follow-up "$D1" --resolved yes --satisfaction 满意 --comment "企业表示满意"
sync "$A" "$SUP"
fl "$SUP" demand show "$D1"

step "$D2 was never signed by 县住房城乡建设局: as of a month from now it is overdue, with a red card"
LATER=$(date -u -d '+8 hours +30 days' '+%Y-%m-%d')
fl "$SUP" demand show "$D2" --today "$LATER"

step "The supervisor's monthly rates (月调度) and the work ledger (工作台账)"
MONTH=$(date -u -d '+8 hours' '+%Y-%m')
fl "$SUP" export monthly --month "$MONTH" --out "$WORK/月调度-$MONTH.csv"
python3 - "$WORK/月调度-$MONTH.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8-sig")))
end = rows.index([]) if [] in rows else len(rows)
for row in rows[:end]:
    print("  " + "  ".join(f"{cell:<14}" for cell in row))
PY
fl "$SUP" export monthly --month "$MONTH" --out "$WORK/月调度-$MONTH.xlsx"
fl "$SUP" export ledger --out "$WORK/工作台账.xlsx" --sign
fl "$SUP" export ledger --out "$WORK/工作台账.csv"
fl "$SUP" export ledger --overdue --today "$LATER" --out "$WORK/超期-$LATER.csv"
fl "$OP" export verify "$WORK/工作台账.xlsx"
echo "(one changed byte, and the signature no longer holds:)"
cp "$WORK/工作台账.xlsx" "$WORK/tampered.xlsx"; cp "$WORK/工作台账.xlsx.sig" "$WORK/tampered.xlsx.sig"
printf 'x' | dd of="$WORK/tampered.xlsx" bs=1 seek=200 conv=notrunc 2>/dev/null
fl "$OP" export verify "$WORK/tampered.xlsx" || true

cleanup
trap - EXIT

echo
echo "The work ledger: $WORK/工作台账.xlsx and .csv (open them in Excel or LibreOffice)."
echo "Demo data is in $WORK (delete it when done)."
echo "The screens on this county, as 王强's laptop (工作台, 诉求, 新增走访, 冲突, 同步, 导出 …):"
echo "  FIELDLOG_HOME=$A $BIN ui        (with the demo passphrase of tools/demo.sh)"
echo "  or: make ui DEMO_DIR=$WORK"

#!/bin/bash
#SBATCH --job-name=astran.20231208T081500-crab-7f3a.dl2.1
#SBATCH --array=0-2%10
#SBATCH --output=/spool/running/20231208T081500-crab-7f3a/.executor/slurm-%A_%a.out
#SBATCH --time=01:00:00
#SBATCH --mem=8G
#SBATCH --cpus-per-task=1
#SBATCH --ntasks=1
#SBATCH --no-requeue
#SBATCH --chdir=/spool/running/20231208T081500-crab-7f3a
#SBATCH --partition=short
#SBATCH --account=aswg
#SBATCH '--comment=astran submitter=analyst'
#SBATCH --dependency=afterok:4711
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --constraint=ssd
# Written by spoold's Slurm executor: one array element per task; each task
# writes its own result file, which is how spoold learns its exit code.
set -u
case "${SLURM_ARRAY_TASK_ID:-0}" in
  0) exec env OMP_NUM_THREADS=1 /opt/astran/bin/python -m spoold.taskrun --result /spool/running/20231208T081500-crab-7f3a/logs/dl2/run15864.result.json --log /spool/running/20231208T081500-crab-7f3a/logs/dl2/run15864.log -- /opt/lstchain-0.12.3/bin/lstchain_dl1_to_dl2 --input-file /data/DL1/20231207/dl1_LST-1.Run15864.h5 --path-models /opt/models/default --output-dir /spool/running/20231208T081500-crab-7f3a/dl2 ;;
  1) exec env OMP_NUM_THREADS=1 /opt/astran/bin/python -m spoold.taskrun --result /spool/running/20231208T081500-crab-7f3a/logs/dl2/run15865.result.json --log /spool/running/20231208T081500-crab-7f3a/logs/dl2/run15865.log -- /opt/lstchain-0.12.3/bin/lstchain_dl1_to_dl2 --input-file /data/DL1/20231207/dl1_LST-1.Run15865.h5 --path-models /opt/models/default --output-dir /spool/running/20231208T081500-crab-7f3a/dl2 ;;
  2) exec env OMP_NUM_THREADS=1 /opt/astran/bin/python -m spoold.taskrun --result /spool/running/20231208T081500-crab-7f3a/logs/dl2/run15866.result.json --log /spool/running/20231208T081500-crab-7f3a/logs/dl2/run15866.log -- /opt/lstchain-0.12.3/bin/lstchain_dl1_to_dl2 --input-file /data/DL1/20231207/dl1_LST-1.Run15866.h5 --path-models /opt/models/default --output-dir /spool/running/20231208T081500-crab-7f3a/dl2 ;;
  *) echo "spoold: no task ${SLURM_ARRAY_TASK_ID:-} in this array" >&2; exit 2 ;;
esac

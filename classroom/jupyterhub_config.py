"""JupyterHub settings for a class that works through the series on one server.

For The Littlest JupyterHub (TLJH), copy this file into its folder of extra settings, which TLJH reads
after its own (``tljh-config``) settings, and reload the hub:

    sudo cp classroom/jupyterhub_config.py /opt/tljh/config/jupyterhub_config.d/vit_classroom.py
    sudo tljh-config set services.cull.timeout 3600   # TLJH's own idle-server culler: an hour, not 10 min
    sudo tljh-config reload hub

On another single-server hub, load it from the hub's own ``jupyterhub_config.py`` with
``load_subconfig("/path/to/classroom/jupyterhub_config.py")``, or start the hub with ``-f`` on it.
The README ("On your school's JupyterHub") says what to install first and which link to hand out
(``python classroom/link.py https://your-hub``).

What it sets, and why (the figures are printed by ``python benchmarks/bench_classroom.py``):

- the memory and CPU each student may use, ``MEMORY_LIMIT`` and ``CPU_LIMIT``. A student's server and
  one notebook's kernel peak at 889 MB together (notebook 05, the largest; the server alone 136 MB);
  the limit leaves room for a second open notebook. The spawner enforces them: TLJH's
  SystemdSpawner does, through systemd (``MemoryMax``, ``CPUQuota``); a plain ``LocalProcessSpawner``
  only passes them on as ``MEM_LIMIT`` and ``CPU_LIMIT``;
- one torch/BLAS thread per student (``OMP_NUM_THREADS=1``): the notebooks' budgets are measured on
  one thread, and two students' kernels sharing the cores do better each with one thread than each
  with as many threads as the server has cores;
- idle-culling: a kernel that ran nothing for ``KERNEL_IDLE_TIMEOUT_S`` is shut down even if its tab
  is still open (a finished notebook gives back its memory; every notebook runs again from the top in
  under 45 s), and a student's server with no kernel left shuts itself down after
  ``SERVER_IDLE_TIMEOUT_S`` without activity;
- students land in JupyterLab (``/lab``), where the widgets and the slides work.
"""

c = get_config()  # noqa: F821  (JupyterHub's configuration object)

MEMORY_LIMIT = "2G"
"""Per student: the server and two notebooks' kernels (each at most 748 MB) fit; a third heavy one may not."""
CPU_LIMIT = 1.0
"""Per student: one core, at most (the notebooks run on one thread)."""
KERNEL_IDLE_TIMEOUT_S = 30 * 60
"""A kernel that ran nothing for this long is shut down, even with its notebook still open."""
KERNEL_CULL_INTERVAL_S = 5 * 60
"""How often each student's server looks for idle kernels."""
SERVER_IDLE_TIMEOUT_S = 60 * 60
"""A student's server with no kernel and no activity for this long stops (their files stay)."""

c.Spawner.mem_limit = MEMORY_LIMIT
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.default_url = "/lab"
c.Spawner.environment.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
c.Spawner.args.extend(
    [
        f"--MappingKernelManager.cull_idle_timeout={KERNEL_IDLE_TIMEOUT_S}",
        f"--MappingKernelManager.cull_interval={KERNEL_CULL_INTERVAL_S}",
        "--MappingKernelManager.cull_connected=True",
        f"--ServerApp.shutdown_no_activity_timeout={SERVER_IDLE_TIMEOUT_S}",
    ]
)

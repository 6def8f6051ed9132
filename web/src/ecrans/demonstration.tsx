// "Découvrir un territoire de démonstration": on a device with no
// territory, the home screen offers the relay's demonstration territories
// (`essaim demo`), read from its `/territoires.json`. Opening one keeps it
// on the device like a joined territory, without an invitation: anyone may
// read it (the relay says so), nobody edits it from here (read-only, as a
// resident), and it stays readable offline.
//
// Does not: create anything, or decide who may read what (the relay does).

import { useState } from "preact/hooks";
import type { Driver } from "../driver";
import { Icone } from "../icones";

interface Demonstration {
  id: string;
  nom: string;
}

/** The demonstration territories of `/territoires.json` (`sync_core::flux::territoires_json`). */
async function demonstrations(): Promise<Demonstration[]> {
  const response = await fetch("/territoires.json");
  if (!response.ok) throw new Error(String(response.status));
  const json = (await response.json()) as { territoires?: { id: string; nom: string; demonstration?: boolean }[] };
  return (json.territoires ?? []).filter((t) => t.demonstration === true).map(({ id, nom }) => ({ id, nom }));
}

export function Demonstrations({ driver }: { driver: Driver }) {
  const [liste, setListe] = useState<Demonstration[]>();
  const [message, setMessage] = useState<string>();

  const decouvrir = async () => {
    setMessage("Recherche des territoires de démonstration…");
    try {
      const trouves = await demonstrations();
      setListe(trouves);
      setMessage(trouves.length === 0 ? "Ce relais ne propose pas de territoire de démonstration." : undefined);
    } catch {
      setMessage("Impossible de joindre le relais\u00a0: vérifiez votre connexion, puis réessayez.");
    }
  };
  const ouvrir = async (t: Demonstration) => {
    await driver.consulter(t.id, t.nom);
    location.hash = `#/territoire/${t.id}`;
  };

  return (
    <section class="carte" aria-labelledby="titre-demonstration">
      <h2 id="titre-demonstration">Découvrir Essaim</h2>
      {liste === undefined || liste.length === 0 ? (
        <button type="button" onClick={decouvrir}>
          Découvrir un territoire de démonstration
        </button>
      ) : (
        <ul class="cartes">
          {liste.map((t) => (
            <li key={t.id}>
              <button type="button" class="secondaire large" onClick={() => ouvrir(t)}>
                <Icone nom="territoire" />
                {t.nom}
              </button>
            </li>
          ))}
        </ul>
      )}
      <p aria-live="polite">{message}</p>
    </section>
  );
}

// The home screen: the territories this device has joined, the form to
// create one (`creation.tsx`), and the form to join one from a link.

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { Champ } from "../formulaire";
import { Icone } from "../icones";
import type { TerritoireConnu } from "../storage";
import { Creation } from "./creation";
import { Demonstrations } from "./demonstration";

export function Accueil({ driver }: { driver: Driver }) {
  const [territoires, setTerritoires] = useState<TerritoireConnu[]>([]);
  const [lien, setLien] = useState("");
  const [erreurLien, setErreurLien] = useState<string>();
  // Read again when a creation is answered (an accepted candidature is a new territory).
  const enAttente = driver.creations.list().length;
  useEffect(() => {
    document.title = "Essaim";
    driver.storage.territoires().then(setTerritoires);
  }, [driver, enAttente]);

  const rejoindre = (event: Event) => {
    event.preventDefault();
    const doc = documentDuLien(lien);
    if (!doc) return setErreurLien("Ce lien n'est pas un lien de territoire Essaim.");
    location.hash = `#/territoire/${doc}`;
  };

  return (
    <>
      <h1>Vos territoires</h1>
      {territoires.length === 0 ? (
        <>
          <p>Vous n'avez encore rejoint aucun territoire.</p>
          <Demonstrations driver={driver} />
        </>
      ) : (
        <ul class="cartes">
          {territoires.map((t) => (
            <li key={t.doc}>
              <a class="carte carte-lien" href={`#/territoire/${t.doc}`}>
                <Icone nom="territoire" />
                <span class="carte-lien-texte">{t.nom || "Territoire sans nom"}</span>
                <Icone nom="suivant" />
              </a>
            </li>
          ))}
        </ul>
      )}
      <Creation driver={driver} />
      <form class="carte" onSubmit={rejoindre} noValidate aria-labelledby="rejoindre-titre">
        <h2 id="rejoindre-titre">Rejoindre un territoire</h2>
        <Champ id="lien" label="Lien reçu" erreur={erreurLien}>
          <input inputMode="url" value={lien} onInput={(e) => (setLien(e.currentTarget.value), setErreurLien(undefined))} />
        </Champ>
        <button type="submit">Rejoindre</button>
      </form>
    </>
  );
}

/** The document id of a territory link (`…#/territoire/<id>`), or of a bare id. */
export function documentDuLien(lien: string): string | undefined {
  const match = lien.trim().match(/(?:#\/territoire\/|automerge:|^)([1-9A-HJ-NP-Za-km-z]{20,60})(?:[/#?].*)?$/);
  return match?.[1];
}

// The home screen: the territories this device has joined, and forms to
// create one or to join one from a link.

import { useEffect, useState } from "preact/hooks";
import type { Driver } from "../driver";
import { Champ } from "../formulaire";
import { messageDe } from "../modele";
import type { TerritoireConnu } from "../storage";
import { Demonstrations } from "./demonstration";

export function Accueil({ driver }: { driver: Driver }) {
  const [territoires, setTerritoires] = useState<TerritoireConnu[]>([]);
  const [nom, setNom] = useState("");
  const [lien, setLien] = useState("");
  const [erreurNom, setErreurNom] = useState<string>();
  const [erreurLien, setErreurLien] = useState<string>();
  useEffect(() => {
    document.title = "Essaim";
    driver.storage.territoires().then(setTerritoires);
  }, [driver]);

  const creer = async (event: Event) => {
    event.preventDefault();
    if (!nom.trim()) return setErreurNom("Donnez un nom au territoire.");
    try {
      const doc = driver.createTerritory({ nom: nom.trim() });
      await driver.storage.retenir({ doc, nom: nom.trim(), rejointLe: Date.now() });
      location.hash = `#/territoire/${doc}`;
    } catch (error) {
      setErreurNom(messageDe(error));
    }
  };
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
        <ul class="liste">
          {territoires.map((t) => (
            <li key={t.doc}>
              <a href={`#/territoire/${t.doc}`}>{t.nom}</a>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={creer} noValidate>
        <h2>Créer un territoire</h2>
        <Champ id="nom" label="Nom du territoire" erreur={erreurNom}>
          <input value={nom} onInput={(e) => (setNom(e.currentTarget.value), setErreurNom(undefined))} />
        </Champ>
        <button type="submit">Créer le territoire</button>
      </form>
      <form onSubmit={rejoindre} noValidate>
        <h2>Rejoindre un territoire</h2>
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

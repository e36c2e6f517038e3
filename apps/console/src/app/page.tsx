import { HomeView } from "../client/views/home-view";

export default function HomePage() {
  return <HomeView />;
}
